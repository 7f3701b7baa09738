"""The daemon as the cloud's client: a real `3dgpt-cloud` on loopback and two real daemons with two
data folders (two devices of one person), driven through the `3dgpt account` CLI."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cloud"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cloudclient import Server  # noqa: E402
from devices import Device  # noqa: E402

PASSWORD = "correct horse battery staple"


@pytest.fixture
def devices(binary, tmp_path):
    made = [Device(binary, tmp_path, "a"), Device(binary, tmp_path, "b")]
    yield made
    for device in made:
        device.stop()


def signup(device: Device, cloud: Server, email: str = "ada@example.com", born: str = "1990-05-17"):
    return device.cli(
        "account", "signup", "--server", cloud.base, "--email", email, "--name", "Ada",
        "--birth-date", born, "--password-stdin", "--device-name", f"{device.name}'s laptop", "--json",
        password=PASSWORD, check=False,
    )  # fmt: skip


def test_sign_up_on_one_device_and_log_in_on_another_gives_both_the_accounts_data_key(cloud, devices):
    a, b = devices
    assert a.status() == {**a.status(), "signed_in": False}
    result = signup(a, cloud)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["signed_in"] and created["email"] == "ada@example.com" and created["tier"] == "free"
    assert created["account_id"].startswith("acct_") and created["device_name"] == "a's laptop"
    code = created["recovery_code"]
    assert len(code) == 39 and code.count("-") == 7, code
    # The password never reached the service, nor any file of the device.
    assert PASSWORD.encode() not in cloud.stored_bytes()
    for path in a.data.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path

    # B is its own device: signed out, with a history key of its own.
    assert not b.status()["signed_in"]
    assert a.key_file.read_bytes() != b.key_file.read_bytes()
    logged_in = json.loads(
        b.cli("account", "login", "--server", cloud.base, "--email", "ADA@example.com ", "--password-stdin",
              "--device-name", "b's desktop", "--json", password=PASSWORD).stdout
    )  # fmt: skip
    assert logged_in["account_id"] == created["account_id"] and logged_in["device_name"] == "b's desktop"
    # B's data key came from its own login (unwrapped with the password's key), equal to A's.
    assert logged_in["data_key_check"] == created["data_key_check"] != ""
    assert (b.data / "keys" / "history.key.account-data-key").read_bytes() == (
        a.data / "keys" / "history.key.account-data-key"
    ).read_bytes()
    # The account adopted A's history key, so what A kept stays readable as it is.
    assert (a.data / "keys" / "history.key.account-data-key").read_bytes() == a.key_file.read_bytes()
    # The service lists both sessions.
    status_a, status_b = a.status(), b.status()
    assert status_a["session_id"] != status_b["session_id"] and status_a["signed_in"] and status_b["signed_in"]

    # A wrong password is refused with a sentence; nothing changes on the device.
    wrong = b.cli("account", "login", "--server", cloud.base, "--email", "ada@example.com", "--password-stdin",
                  password="not the password", check=False)  # fmt: skip
    assert wrong.returncode == 1 and "the email or the password is not right" in wrong.stderr, wrong.stderr

    # Logging out ends B's session at the service and forgets its keys; A stays signed in.
    out = json.loads(b.cli("account", "logout", "--json").stdout)
    assert not out["signed_in"] and out["message"] == ""
    assert not (b.data / "keys" / "history.key.account-data-key").exists()
    assert not (b.data / "account.json").exists()
    assert not b.status()["signed_in"] and a.status()["signed_in"]


def test_the_service_offline_shows_what_the_device_remembers_and_a_revoked_session_signs_out(cloud, devices, tmp_path):
    a, _ = devices
    assert signup(a, cloud).returncode == 0
    cloud.stop()
    offline = a.status()
    assert offline["signed_in"] and offline["message"].startswith("offline: could not reach the cloud service at")
    # Back up on the same data: the session still holds.
    port = cloud.base.rsplit(":", 1)[1]
    again = Server(tmp_path / "cloud", listen=f"127.0.0.1:{port}")
    try:
        assert a.status()["message"] == ""
        # The session revoked elsewhere (here: through the API with the device's own access):
        # the next status finds it ended and signs this device out.
        remembered = json.loads((a.data / "account.json").read_text())
        status, body = again.call("POST", "/v1/accounts/prelogin", {"email": "ada@example.com"})
        assert status == 200, body
        refresh = (a.data / "keys" / "history.key.account-refresh-token").read_text()
        status, tokens = again.call("POST", "/v1/sessions/refresh", {"refresh_token": refresh})
        assert status == 200, tokens
        status, _ = again.call("DELETE", f"/v1/sessions/{remembered['session_id']}", token=tokens["access_token"])
        assert status in (200, 204)
        ended = a.status()
        assert not ended["signed_in"] and "log in again" in ended["message"], ended
        assert not (a.data / "account.json").exists()
    finally:
        again.stop()


def test_under_13_and_bad_details_are_refused_kindly(cloud, devices):
    a, _ = devices
    young = signup(a, cloud, born=time.strftime("%Y") + "-01-01")
    assert young.returncode == 1
    assert "13 and older" in young.stderr and "generations stay on this computer" in young.stderr, young.stderr
    bad = signup(a, cloud, born="17.05.1990")
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr
    assert not a.status()["signed_in"]
    unreachable = a.cli("account", "login", "--server", "http://127.0.0.1:9", "--email", "ada@example.com",
                        "--password-stdin", password=PASSWORD, check=False)  # fmt: skip
    assert (
        unreachable.returncode == 1 and "could not reach the cloud service at http://127.0.0.1:9" in unreachable.stderr
    )
