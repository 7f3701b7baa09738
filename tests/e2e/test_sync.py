"""Sync between two devices of one account: a real `3dgpt-cloud` on loopback (behind a proxy that
counts requests where a test needs to know what was sent) and two real daemons with their own data
folders and keys, driven through the CLI (`3dgpt sync now` runs a round and waits for it)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cloud"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cloudclient import Server  # noqa: E402
from devices import CountingProxy, Device  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_device(binary, tmp_path):
    made = []

    def make(name: str) -> Device:
        # Rounds run when asked, or at once when a generation is kept or deleted.
        device = Device(binary, tmp_path, name, "--sync-interval", "3600")
        made.append(device)
        return device

    yield make
    for device in made:
        device.stop()


def sign_up(device: Device, server: str) -> dict:
    return json.loads(
        device.cli("account", "signup", "--server", server, "--email", "ada@example.com", "--name", "Ada",
                   "--birth-date", "1990-05-17", "--password-stdin", "--device-name", f"{device.name}'s laptop",
                   "--json", password=PASSWORD).stdout
    )  # fmt: skip


def log_in(device: Device, server: str) -> dict:
    return json.loads(
        device.cli("account", "login", "--server", server, "--email", "ada@example.com", "--password-stdin",
                   "--device-name", f"{device.name}'s desktop", "--json", password=PASSWORD).stdout
    )  # fmt: skip


def generate(device: Device, tmp_path: Path, name: str) -> str:
    out = tmp_path / f"{device.name}-{name}.glb"
    result = device.json("generate", str(EXAMPLES / "duck.png"), "-o", str(out), "--faces", "1000", "--grid", "64")
    return result["generation_id"]


def sync_now(device: Device, ok: bool = True) -> dict:
    result = device.cli("sync", "now", "--json", check=False)
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    return json.loads(result.stdout)


def history(device: Device) -> list[dict]:
    return device.json("history", "list", "--limit", "100")["generations"]


def blob_files(device: Device) -> list[Path]:
    return [path for path in (device.data / "history" / "blobs").rglob("*") if path.is_file()]


def test_a_generation_follows_the_account_and_a_delete_reaches_every_device(cloud, make_device, tmp_path):
    a, b = make_device("a"), make_device("b")
    sign_up(a, cloud.base)
    log_in(b, cloud.base)
    made = generate(a, tmp_path, "duck")
    report = sync_now(a)
    assert report["state"] == "idle" and report["pending_uploads"] == 0 and report["message"] == "", report
    # The service holds it sealed: not the GLB's bytes.
    glb = (tmp_path / "a-duck.glb").read_bytes()
    assert glb[1000:1064] not in cloud.stored_bytes()

    report = sync_now(b)
    assert report["state"] == "idle" and report["downloaded"] == 1, report
    [entry] = history(b)
    assert entry["id"] == made and entry["device"] == "a's laptop" and entry["source"] == "duck.png"
    assert history(a)[0]["device"] == ""
    # Equal bytes on both devices: the asset, the picture and the thumbnail.
    for what in ("asset", "input", "thumbnail"):
        a_file, b_file = tmp_path / f"a.{what}", tmp_path / f"b.{what}"
        a.cli("history", "download", made, "--what", what, "-o", str(a_file))
        b.cli("history", "download", made, "--what", what, "-o", str(b_file))
        assert a_file.read_bytes() == b_file.read_bytes() and a_file.stat().st_size > 0, what
    assert b"glTF" == (tmp_path / "b.asset").read_bytes()[:4]

    # A settings change on B reaches A (the account's settings).
    assert b.json("settings", "set", "training_consent", "true")["scope"] == "account"
    sync_now(a)
    settings = a.json("settings")
    assert settings["training_consent"] and settings["scope"] == "account" and settings["sync"]

    # Removed from B only: still listed (on the account only), its files gone, and back on first use.
    local = b.cli("history", "delete", made, "--this-device")
    assert "removed" in local.stdout and "the account keeps it" in local.stdout
    assert blob_files(b) == []
    [entry] = history(b)
    assert entry["id"] == made and entry["on_this_device"] is False
    # A gallery's thumbnail does not bring it back; the asset does.
    thumbnail = b.cli("history", "download", made, "--what", "thumbnail", "-o", str(tmp_path / "t.png"), check=False)
    assert thumbnail.returncode == 1 and "not on this device" in thumbnail.stderr, thumbnail.stderr
    assert history(b)[0]["on_this_device"] is False and blob_files(b) == []
    b.cli("history", "download", made, "-o", str(tmp_path / "again.glb"))
    assert (tmp_path / "again.glb").read_bytes() == (tmp_path / "a.asset").read_bytes()
    assert history(b)[0]["on_this_device"] and blob_files(b)
    # One the account does not hold cannot be removed from this device alone.
    a.json("settings", "set", "sync", "false")
    private = generate(a, tmp_path, "private")
    refused = a.cli("history", "delete", private, "--this-device", check=False)
    assert refused.returncode == 1 and "would lose it" in refused.stderr, refused.stderr
    a.cli("history", "delete", private)
    a.json("settings", "set", "sync", "true")

    # Deleted on B: gone from the account, and from A with its files.
    deleted = b.cli("history", "delete", made)
    assert "from the account and from every device" in deleted.stdout, deleted.stdout
    assert sync_now(b)["pending_deletes"] == 0
    assert blob_files(a)
    report = sync_now(a)
    assert report["removed"] == 1 and history(a) == [], report
    assert blob_files(a) == []
    # Nothing comes back on the next rounds.
    sync_now(b)
    assert history(b) == [] and history(a) == []


def test_logging_in_makes_the_accounts_key_the_historys_and_what_the_device_kept_stays_readable(
    cloud, make_device, tmp_path
):
    a, b = make_device("a"), make_device("b")
    sign_up(a, cloud.base)
    before = generate(b, tmp_path, "before")  # B's own, sealed with B's own key
    b.cli("history", "download", before, "-o", str(tmp_path / "before-1.glb"))
    own_key = b.key_file.read_bytes()
    assert own_key != a.key_file.read_bytes()
    log_in(b, cloud.base)
    # The account's data key is B's history key now: one key opens everything, on every device.
    assert b.key_file.read_bytes() == a.key_file.read_bytes() != own_key
    assert not list(b.data.rglob("*history-key-next*"))
    b.cli("history", "download", before, "-o", str(tmp_path / "before-2.glb"))
    assert (tmp_path / "before-1.glb").read_bytes() == (tmp_path / "before-2.glb").read_bytes()
    sync_now(b)
    assert sync_now(a)["downloaded"] == 1
    # Signed out again, the history stays readable (its key stays), and a restart changes nothing.
    b.cli("account", "logout")
    b.stop()
    b.start()
    b.cli("history", "download", before, "-o", str(tmp_path / "before-3.glb"))
    assert (tmp_path / "before-3.glb").read_bytes() == (tmp_path / "before-1.glb").read_bytes()


def test_generations_made_offline_sync_once_the_service_is_back_and_none_twice(cloud, make_device, tmp_path):
    a = make_device("a")
    sign_up(a, cloud.base)
    port = cloud.base.rsplit(":", 1)[1]
    cloud.stop()
    ids = {generate(a, tmp_path, "one"), generate(a, tmp_path, "two")}
    report = sync_now(a, ok=False)
    assert report["state"] == "offline" and report["pending_uploads"] == 2, report
    assert "could not reach the cloud service" in report["message"]
    again = Server(tmp_path / "cloud", listen=f"127.0.0.1:{port}")
    try:
        report = sync_now(a)
        assert report["state"] == "idle" and report["pending_uploads"] == 0 and report["uploaded"] == 2, report
        sync_now(a)
        b = make_device("b")
        log_in(b, again.base)
        assert sync_now(b)["downloaded"] == 2
        assert {entry["id"] for entry in history(b)} == ids
        assert {entry["id"] for entry in history(a)} == ids
    finally:
        again.stop()


def test_a_daemon_killed_mid_upload_sends_the_generation_once_after_a_restart(cloud, make_device, tmp_path):
    proxy = CountingProxy(cloud.base)
    try:
        a = make_device("a")
        sign_up(a, proxy.base)
        proxy.hold("PUT /v1/records/")
        made = generate(a, tmp_path, "duck")  # kept: a round starts and hangs on the record
        assert proxy.holding.wait(60), "the upload never reached the record"
        assert proxy.count("PUT /v1/blobs") == 3
        a.kill()
        proxy.release()
        a.start()
        report = sync_now(a)
        assert report["state"] == "idle" and report["pending_uploads"] == 0, report
        b = make_device("b")
        log_in(b, proxy.base)
        sync_now(b)
        assert [entry["id"] for entry in history(b)] == [made]
    finally:
        proxy.stop()


def test_sync_off_uploads_nothing_and_telemetry_off_sends_nothing(cloud, make_device, tmp_path):
    proxy = CountingProxy(cloud.base)
    try:
        a = make_device("a")
        sign_up(a, proxy.base)
        assert a.json("settings", "set", "sync", "false")["sync"] is False
        proxy.reset()
        generate(a, tmp_path, "private")
        report = sync_now(a)
        assert report["state"] == "off" and "sync is off" in report["message"], report
        assert proxy.count("PUT /v1/blobs") == proxy.count("PUT /v1/records") == 0
        assert proxy.count("POST /v1/telemetry") == 0
        assert proxy.count("GET /v1/changes") == 0
        # Made while sync was off, it stays on this device even once sync is on again.
        a.json("settings", "set", "sync", "true")
        report = sync_now(a)
        assert report["state"] == "idle" and report["pending_uploads"] == 0 and report["uploaded"] == 0, report
        assert proxy.count("PUT /v1/blobs") == proxy.count("PUT /v1/records") == 0
        # The history off on this device: nothing is kept, and a round sends nothing at all.
        a.json("settings", "set", "history", "false")
        proxy.reset()
        generate(a, tmp_path, "unkept")
        report = sync_now(a)
        assert report["state"] == "off" and "history is off" in report["message"], report
        assert proxy.count() == 0, proxy.counts
        a.json("settings", "set", "history", "true")

        # Telemetry on: an anonymous event per generation, with no credentials.
        a.json("settings", "set", "telemetry", "true")
        generate(a, tmp_path, "counted")
        deadline = time.monotonic() + 30
        while proxy.count("POST /v1/telemetry") == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proxy.count("POST /v1/telemetry") >= 1
    finally:
        proxy.stop()


def test_a_full_quota_pauses_uploads_with_the_services_reason(make_device, tmp_path):
    config = tmp_path / "cloud.toml"
    config.write_text("[tiers.free]\nbytes = 1073741824\ngenerations = 1\n")
    server = Server(tmp_path / "cloud", "--config", str(config))
    try:
        a = make_device("a")
        sign_up(a, server.base)
        generate(a, tmp_path, "one")
        sync_now(a)
        generate(a, tmp_path, "two")
        report = sync_now(a)
        assert report["state"] == "paused" and report["pending_uploads"] == 1, report
        assert "uploads are paused" in report["message"] and "Free tier syncs 1 generations" in report["message"]
        status = a.json("sync", "status")
        assert status["state"] == "paused" and status["message"] == report["message"]
    finally:
        server.stop()


def test_a_password_change_signs_the_other_device_out_and_the_new_password_reads_everything(
    cloud, make_device, tmp_path
):
    a, b = make_device("a"), make_device("b")
    created = sign_up(a, cloud.base)
    log_in(b, cloud.base)
    made = generate(a, tmp_path, "duck")
    sync_now(a)
    sync_now(b)
    new = "an entirely new passphrase"
    wrong = a.cli("account", "password", "--password-stdin", password=f"not it at all\n{new}", check=False)
    assert wrong.returncode == 1 and "the password is not right" in wrong.stderr, wrong.stderr
    assert a.status()["signed_in"]
    a.cli("account", "password", "--password-stdin", password=f"{PASSWORD}\n{new}")
    assert a.status()["signed_in"]
    ended = b.status()
    assert not ended["signed_in"] and "log in again" in ended["message"], ended
    old = b.cli("account", "login", "--server", cloud.base, "--email", "ada@example.com", "--password-stdin",
                password=PASSWORD, check=False)  # fmt: skip
    assert old.returncode == 1
    # The service is remembered for this data folder: no --server needed again.
    again = json.loads(
        b.cli("account", "login", "--email", "ada@example.com", "--password-stdin", "--json", password=new).stdout
    )
    assert again["data_key_check"] == created["data_key_check"]
    generate(a, tmp_path, "after")
    sync_now(a)
    assert sync_now(b)["state"] == "idle"
    assert made in {entry["id"] for entry in history(b)} and len(history(b)) == 2
    b.cli("history", "download", made, "-o", str(tmp_path / "b.glb"))
    assert (tmp_path / "b.glb").read_bytes()[:4] == b"glTF"


def test_the_recovery_code_gets_back_in_and_deleting_the_account_removes_its_copies_here(cloud, make_device, tmp_path):
    a, b = make_device("a"), make_device("b")
    code = sign_up(a, cloud.base)["recovery_code"]
    made = generate(a, tmp_path, "duck")
    sync_now(a)
    # Password forgotten: B gets in with the recovery code and a new password.
    recovered = json.loads(
        b.cli("account", "recover", "--server", cloud.base, "--email", "ada@example.com", "--code", code.lower(),
              "--password-stdin", "--json", password="a new memorable passphrase").stdout
    )  # fmt: skip
    assert recovered["signed_in"] and recovered["recovery_code"] != code
    reused = b.cli("account", "recover", "--server", cloud.base, "--email", "ada@example.com", "--code", code,
                   "--password-stdin", password="yet another passphrase", check=False)  # fmt: skip
    assert reused.returncode == 1, "a recovery code works once"
    assert not a.status()["signed_in"], "recovery ends every session"
    assert sync_now(b)["downloaded"] == 1
    # A's session ended; B's is the one left.
    [session] = b.json("account", "sessions")["sessions"]
    assert session["current"] and session["id"] == b.status()["session_id"]

    export = tmp_path / "export.tar"
    assert b.json("account", "export", "-o", str(export))["bytes"] == export.stat().st_size > 0

    # B also has a generation that never left it (made with sync off): it stays.
    b.json("settings", "set", "sync", "false")
    mine = generate(b, tmp_path, "mine")
    refused = b.cli("account", "delete", "--password-stdin", "--yes", password="wrong password here", check=False)
    assert refused.returncode == 1 and b.status()["signed_in"]
    deleted = json.loads(
        b.cli("account", "delete", "--password-stdin", "--yes", "--json", password="a new memorable passphrase").stdout
    )
    assert deleted == {"deleted": True, "removed_here": 1}
    assert [entry["id"] for entry in history(b)] == [mine] and made != mine
    assert not b.status()["signed_in"]
    gone = b.cli("account", "login", "--server", cloud.base, "--email", "ada@example.com", "--password-stdin",
                 password="a new memorable passphrase", check=False)  # fmt: skip
    assert gone.returncode == 1
