"""Account state on a real `3dgpt-cloud`: settings with versions (a stale write is refused, a
withdrawal of training consent always wins), the consent history, sync switched off, and the
export archive with everything the service holds."""

from __future__ import annotations

import base64
import io
import json
import tarfile

import pytest
from cloudclient import Account, Server, blob_name, open_sealed, seal


@pytest.fixture
def cloud(tmp_path):
    server = Server(tmp_path / "cloud")
    yield server
    server.stop()


def write(device: Account, based_on: int, **changes):
    return device.call("PUT", "/v1/account/settings", {"based_on": based_on, "device_id": device.session, **changes})


def test_settings_are_off_by_default_and_a_stale_write_is_refused(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    status, settings = ada.call("GET", "/v1/account/settings")
    assert status == 200
    assert settings == {
        "version": 1,
        "sync": True,
        "telemetry": False,
        "training_consent": False,
        "marketing_email": False,
    }
    status, settings = write(ada, 1, telemetry=True)
    assert status == 200 and settings["telemetry"] and settings["version"] == 2
    status, body = write(ada, 1, marketing_email=True)
    assert status == 409 and body["code"] == "stale_settings" and "read them again" in body["message"], body
    assert ada.call("GET", "/v1/account/settings")[1]["marketing_email"] is False


@pytest.mark.parametrize("grant_first", [True, False])
def test_a_withdrawal_of_training_consent_wins_over_a_concurrent_grant(cloud, grant_first):
    laptop = Account(cloud, "ada@example.org").signup().login("laptop")
    studio = Account(cloud, laptop.email, id=laptop.id).login("studio")
    version = laptop.call("GET", "/v1/account/settings")[1]["version"]
    # Both devices read the same version; one grants, the other withdraws.
    if grant_first:
        assert write(laptop, version, training_consent=True)[0] == 200
        status, body = write(studio, version, training_consent=False)
        assert status == 200, "a stale withdrawal still applies"
    else:
        assert write(studio, version, training_consent=False)[0] == 200
        status, body = write(laptop, version, training_consent=True)
        assert status == 409 and body["code"] == "stale_settings", "a stale grant does not"
    assert laptop.call("GET", "/v1/account/settings")[1]["training_consent"] is False

    history = laptop.call("GET", "/v1/account/consent")[1]["history"]
    expected = [(laptop.session, True), (studio.session, False)] if grant_first else [(studio.session, False)]
    assert [(entry["device_id"], entry["training_consent"]) for entry in history] == expected
    assert all(entry["at"] > 0 for entry in history)


def test_a_stale_write_with_a_withdrawal_applies_the_withdrawal_only(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    assert write(ada, 1, training_consent=True)[0] == 200
    status, body = write(ada, 1, training_consent=False, marketing_email=True)
    assert status == 409 and "withdrawal of training consent was applied" in body["message"]
    settings = ada.call("GET", "/v1/account/settings")[1]
    assert settings["training_consent"] is False and settings["marketing_email"] is False


def test_with_sync_off_nothing_uploads_but_everything_reads(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    sealed = seal(ada.data_key, b"a picture")
    assert ada.call("PUT", f"/v1/blobs/{blob_name(sealed)}", sealed)[0] == 201
    assert write(ada, 1, sync=False)[0] == 200
    other = seal(ada.data_key, b"another picture")
    status, body = ada.call("PUT", f"/v1/blobs/{blob_name(other)}", other)
    assert status == 403 and body["code"] == "sync_disabled", body
    assert ada.call("GET", f"/v1/blobs/{blob_name(sealed)}")[0] == 200
    assert ada.call("GET", "/v1/account/usage")[0] == 200


def test_the_export_holds_everything_and_the_sealed_parts_open_with_the_data_key(cloud):
    ada = Account(cloud, "ada@example.org").signup().login("laptop")
    picture = seal(ada.data_key, b"the input picture")
    assert ada.call("PUT", f"/v1/blobs/{blob_name(picture)}", picture)[0] == 201
    for record_id in ("gen-1", "gen-2"):
        body = {"device_id": "laptop", "sealed": base64.b64encode(seal(ada.data_key, record_id.encode())).decode()}
        assert ada.call("PUT", f"/v1/records/{record_id}", {**body, "blobs": [blob_name(picture)]})[0] == 200
    assert ada.call("DELETE", "/v1/records/gen-2")[0] == 204
    write(ada, 1, training_consent=True)

    status, archive = ada.call("GET", "/v1/account/export")
    assert status == 200 and isinstance(archive, bytes)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        files = {member.name.removeprefix("3dgpt-export/"): tar.extractfile(member).read() for member in tar}
    assert set(files) == {
        "README.txt",
        "account.json",
        "settings.json",
        "consent_history.json",
        "sessions.json",
        "records.json",
        "records/gen-1.sealed",
        f"blobs/{blob_name(picture)}",
    }
    account = json.loads(files["account.json"])
    assert (account["id"], account["email"], account["name"], account["date_of_birth"]) == (
        ada.id,
        ada.email,
        "Ada",
        "1990-05-17",
    )
    assert json.loads(files["settings.json"])["training_consent"] is True
    assert [entry["training_consent"] for entry in json.loads(files["consent_history.json"])] == [True]
    assert [session["device_name"] for session in json.loads(files["sessions.json"])] == ["laptop"]
    records = {record["id"]: record for record in json.loads(files["records.json"])}
    assert records["gen-1"]["deleted"] is False and records["gen-2"]["deleted"] is True
    assert open_sealed(ada.data_key, files["records/gen-1.sealed"]) == b"gen-1"
    assert open_sealed(ada.data_key, files[f"blobs/{blob_name(picture)}"]) == b"the input picture"
    assert b"the input picture" not in archive, "the archive is as private as the account"

    grace = Account(cloud, "grace@example.org").signup().login()
    with tarfile.open(fileobj=io.BytesIO(grace.call("GET", "/v1/account/export")[1])) as tar:
        assert "3dgpt-export/records/gen-1.sealed" not in tar.getnames()
