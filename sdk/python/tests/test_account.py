"""The account surface of the Python module, against a real `3dgpt-cloud` on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "cloud"))
from cloudclient import Server  # noqa: E402

PASSWORD = "correct horse battery staple"


@pytest.fixture
def cloud(tmp_path):
    server = Server(tmp_path / "cloud")
    yield server
    server.stop()


@pytest.fixture
def client(daemon_binary, tmp_path):
    """A daemon of its own whose keys live in a key file (this machine's test user has no usable
    keychain), so the account has somewhere to keep its session and data key."""
    import threedgpt

    runtime, data = tmp_path / "runtime", tmp_path / "data"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "THREEDGPT_RUNTIME_DIR": str(runtime), "THREEDGPT_DATA_DIR": str(data)}
    process = subprocess.Popen(
        [str(daemon_binary), "serve", "--idle-timeout", "0", "--key-file", str(data / "history.key")],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = runtime / "daemon.sock"
    deadline = time.monotonic() + 30
    while not socket.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the daemon did not start"
        time.sleep(0.05)
    yield threedgpt.Client(str(socket), autostart=False)
    process.terminate()
    process.wait(timeout=30)


def test_sign_up_status_log_out_and_log_in_again(client, cloud):
    import threedgpt

    assert not client.account_status().signed_in
    status, code = client.account_sign_up(
        cloud.base, "grace@example.com", "Grace", "1985-12-09", PASSWORD, device_name="notebook"
    )
    assert isinstance(status, threedgpt.AccountStatus)
    assert status.signed_in and status.email == "grace@example.com" and status.tier == "free"
    assert status.device_name == "notebook" and status.account_id.startswith("acct_")
    assert len(code) == 39 and repr(status).startswith("<AccountStatus grace@example.com on http://")
    assert client.account_status().account_id == status.account_id
    out = client.account_log_out()
    assert not out.signed_in and repr(out) == "<AccountStatus signed out>"
    again = client.account_log_in(cloud.base, "Grace@Example.com", PASSWORD)
    assert again.account_id == status.account_id and again.data_key_check == status.data_key_check
    client.account_log_out()


def test_account_errors_are_the_modules_exceptions(client, cloud):
    import threedgpt

    with pytest.raises(threedgpt.InvalidInput, match="YYYY-MM-DD"):
        client.account_sign_up(cloud.base, "x@example.com", "X", "1990/01/01", PASSWORD)
    with pytest.raises(threedgpt.PermissionDenied, match="the email or the password is not right"):
        client.account_log_in(cloud.base, "nobody@example.com", PASSWORD)
    with pytest.raises(threedgpt.DaemonUnavailable, match="could not reach the cloud service"):
        client.account_log_in("http://127.0.0.1:9", "x@example.com", PASSWORD)
    assert not client.account_status().signed_in


def test_sync_and_the_accounts_settings(client, cloud, tmp_path):
    import threedgpt

    examples = Path(__file__).resolve().parents[3] / "examples"
    signed_out = client.sync_status()
    assert isinstance(signed_out, threedgpt.SyncStatus) and signed_out.state == "signed_out"
    assert client.settings().scope == "device"
    client.account_sign_up(cloud.base, "grace@example.com", "Grace", "1985-12-09", PASSWORD, device_name="notebook")
    generation = client.generate(examples / "duck.png", tmp_path / "duck.glb", faces=1000, grid=64)
    report = client.sync_now()
    assert report.state == "idle" and report.pending_uploads == 0 and report.uploaded == 1, repr(report)
    assert report.last_sync is not None and report.last_sync > time.time() - 60
    assert client.history()[0].device == "" and client.history()[0].id == generation.id
    # Removed from this device only, it downloads again when asked for.
    assert client.delete(generation.id, this_device=True)
    assert not client.history()[0].on_this_device
    assert client.download(generation.id)[:4] == b"glTF" and client.history()[0].on_this_device
    # Signed in, these settings are the account's.
    settings = client.update_settings(telemetry=True, marketing_email=False)
    assert settings.scope == "account" and settings.telemetry and settings.sync
    assert client.update_settings(sync=False).sync is False
    assert client.sync_now().state == "off"
    client.account_log_out()


def test_sessions_password_recovery_export_and_deletion(client, cloud, tmp_path):
    import threedgpt

    _, code = client.account_sign_up(cloud.base, "grace@example.com", "Grace", "1985-12-09", PASSWORD)
    [session] = client.account_sessions()
    assert session["current"] and session["device_name"]
    with pytest.raises(threedgpt.InvalidInput, match="the password is not right"):
        client.account_change_password("not the password", "a brand new passphrase")
    assert client.account_change_password(PASSWORD, "a brand new passphrase").signed_in
    client.account_log_out()
    status, new_code = client.account_recover(cloud.base, "grace@example.com", code, "recovered passphrase")
    assert status.signed_in and new_code != code
    size = client.account_export(tmp_path / "export.tar")
    assert size == (tmp_path / "export.tar").stat().st_size > 0
    with pytest.raises(threedgpt.InvalidInput):
        client.account_delete("wrong password here")
    assert client.account_delete("recovered passphrase") == 0
    assert not client.account_status().signed_in
    with pytest.raises(threedgpt.PermissionDenied):
        client.account_log_in(cloud.base, "grace@example.com", "recovered passphrase")
