"""Sync storage on a real `3dgpt-cloud` with the blob folder: sealed blobs named by the hash of
their ciphertext (idempotent, resumable in parts, refused unsealed or misnamed), records that
refer to them, changes since a cursor with tombstones that reach every device, expired cursors,
quotas, another account seeing nothing, and account deletion that leaves no row, no blob and no
byte of the email behind. The server's files never hold the plaintext."""

from __future__ import annotations

import base64
import os
import time

import pytest
from cloudclient import Account, Server, blob_name, open_sealed, seal

from conftest import EXAMPLES


@pytest.fixture
def cloud(storage, tmp_path):
    server = storage.server(tmp_path / "cloud")
    yield server
    server.stop()


@pytest.fixture
def configured(storage, tmp_path):
    """Starts a server with the given configuration file's text."""
    servers = []

    def start(text: str) -> Server:
        config = tmp_path / "cloud.toml"
        config.write_text(text)
        servers.append(storage.server(tmp_path / "cloud", "--config", str(config)))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def upload(device: Account, plaintext: bytes) -> str:
    sealed = seal(device.data_key, plaintext)
    name = blob_name(sealed)
    status, body = device.call("PUT", f"/v1/blobs/{name}", sealed)
    assert status in (200, 201), body
    return name


def put_record(device: Account, record_id: str, blobs: list[str], note: bytes = b"{}"):
    sealed = base64.b64encode(seal(device.data_key, note)).decode()
    return device.call("PUT", f"/v1/records/{record_id}", {"device_id": "laptop", "sealed": sealed, "blobs": blobs})


def changes(device: Account, since: int = 0, limit: int | None = None):
    query = f"?since={since}" + (f"&limit={limit}" if limit else "")
    return device.call("GET", "/v1/changes" + query)


def two_devices(cloud: Server, email: str = "ada@example.org") -> tuple[Account, Account]:
    laptop = Account(cloud, email).signup().login("laptop")
    studio = Account(cloud, email, id=laptop.id, data_key=laptop.data_key).login("studio")
    return laptop, studio


def test_a_generation_reaches_another_device_and_the_server_holds_only_ciphertext(cloud, storage):
    laptop, studio = two_devices(cloud)
    picture = (EXAMPLES / "duck.png").read_bytes()
    model = b"glTF" + os.urandom(300_000)
    names = [upload(laptop, picture), upload(laptop, model)]
    status, stored = put_record(laptop, "gen-1", names, b'{"prompt file": "duck.png"}')
    assert status == 200 and stored["seq"] > 0, stored

    status, listed = changes(studio)
    assert status == 200 and [change["id"] for change in listed["changes"]] == ["gen-1"]
    change = listed["changes"][0]
    assert change["device_id"] == "laptop" and not change["deleted"] and sorted(change["blobs"]) == sorted(names)
    assert open_sealed(studio.data_key, base64.b64decode(change["sealed"])) == b'{"prompt file": "duck.png"}'
    fetched = {name: open_sealed(studio.data_key, studio.call("GET", f"/v1/blobs/{name}")[1]) for name in names}
    assert fetched == {names[0]: picture, names[1]: model}
    assert changes(studio, listed["cursor"])[1]["changes"] == [], "nothing new after the cursor"

    cloud.stop()
    stored_bytes = storage.stored_bytes(cloud)
    for plaintext in (picture[:64], picture[len(picture) // 2 : len(picture) // 2 + 64], model[:64], b"duck.png"):
        assert plaintext not in stored_bytes


def test_blobs_are_idempotent_and_must_be_sealed_and_named_by_their_hash(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    sealed = seal(ada.data_key, b"a picture")
    name = blob_name(sealed)
    assert ada.call("PUT", f"/v1/blobs/{name}", sealed)[0] == 201
    assert ada.call("PUT", f"/v1/blobs/{name}", sealed) == (200, {"name": name, "size": len(sealed)})
    status, body = ada.call("PUT", f"/v1/blobs/{'0' * 64}", sealed)
    assert status == 400 and body["code"] == "hash_mismatch", body
    plaintext = b"not sealed at all, just a picture's bytes" * 2
    status, body = ada.call("PUT", f"/v1/blobs/{blob_name(plaintext)}", plaintext)
    assert status == 400 and "not sealed" in body["message"], body
    assert ada.call("PUT", "/v1/blobs/NOT-A-HASH", sealed)[1]["code"] == "invalid_request"
    status, body = put_record(ada, "gen-1", ["1" * 64])
    assert status == 409 and body["code"] == "missing_blob", body
    status, body = ada.call("PUT", "/v1/records/gen-2", {"device_id": "laptop", "sealed": "e30=", "blobs": []})
    assert status == 400 and "not sealed" in body["message"], "a plaintext record is refused"


def test_a_big_blob_uploads_in_parts_and_resumes(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    plaintext = os.urandom(2_500_000)
    sealed = seal(ada.data_key, plaintext)
    name = blob_name(sealed)
    part = 1 << 20
    pieces = [sealed[i : i + part] for i in range(0, len(sealed), part)]
    assert len(pieces) == 3
    for number in (0, 2):
        assert ada.call("PUT", f"/v1/blobs/{name}/parts/{number}", pieces[number])[0] == 204
    # The connection dropped: the device asks what arrived, and completes too early by mistake.
    status, listed = ada.call("GET", f"/v1/blobs/{name}/parts")
    assert [item["part"] for item in listed["parts"]] == [0, 2]
    status, body = ada.call("POST", f"/v1/blobs/{name}/complete", {"parts": 3})
    assert status == 409 and body["code"] == "incomplete_upload" and "missing: [1]" in body["message"], body
    assert ada.call("PUT", f"/v1/blobs/{name}/parts/1", pieces[1])[0] == 204
    status, body = ada.call("POST", f"/v1/blobs/{name}/complete", {"parts": 3})
    assert status == 201 and body["size"] == len(sealed), body
    assert open_sealed(ada.data_key, ada.call("GET", f"/v1/blobs/{name}")[1]) == plaintext
    assert ada.call("GET", f"/v1/blobs/{name}/parts")[1]["parts"] == [], "the parts are gone"

    # Parts that do not make the named blob are dropped, not stored.
    other = blob_name(b"something else")
    ada.call("PUT", f"/v1/blobs/{other}/parts/0", pieces[0])
    status, body = ada.call("POST", f"/v1/blobs/{other}/complete", {"parts": 1})
    assert status == 400 and body["code"] == "hash_mismatch"
    assert ada.call("GET", f"/v1/blobs/{other}")[0] == 404


def test_deletions_reach_every_device_and_a_deleted_generation_stays_deleted(cloud):
    laptop, studio = two_devices(cloud)
    shared = upload(laptop, b"a picture both generations use")
    only_first = upload(laptop, b"the first model")
    put_record(laptop, "gen-1", [shared, only_first])
    put_record(laptop, "gen-2", [shared])
    cursor = changes(studio)[1]["cursor"]

    assert laptop.call("DELETE", "/v1/records/gen-1")[0] == 204
    status, listed = changes(studio, cursor)
    assert [(change["id"], change["deleted"], change["sealed"]) for change in listed["changes"]] == [
        ("gen-1", True, None)
    ]
    assert studio.call("GET", f"/v1/blobs/{only_first}")[0] == 404, "a blob only it used goes with it"
    assert studio.call("GET", f"/v1/blobs/{shared}")[0] == 200, "a blob another generation uses stays"
    assert studio.call("GET", "/v1/records/gen-1")[0] == 404
    status, body = put_record(studio, "gen-1", [shared])
    assert status == 410 and body["code"] == "record_deleted", "a device that had it does not bring it back"
    assert laptop.call("DELETE", "/v1/records/gen-1")[0] == 404

    status, body = studio.call("DELETE", "/v1/records")
    assert status == 200 and body["deleted"] == 1
    listed = changes(laptop)[1]["changes"]
    assert {change["id"]: change["deleted"] for change in listed} == {"gen-1": True, "gen-2": True}
    assert laptop.call("GET", f"/v1/blobs/{shared}")[0] == 404
    assert laptop.call("GET", "/v1/account/usage")[1]["bytes"] == 0


def test_changes_come_in_pages_in_order(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    for number in range(5):
        assert put_record(ada, f"gen-{number}", [])[0] == 200
    put_record(ada, "gen-1", [], b'{"renamed": true}')
    seen, cursor, pages = [], 0, 0
    while True:
        status, page = changes(ada, cursor, limit=2)
        assert status == 200 and len(page["changes"]) <= 2
        seen += [change["id"] for change in page["changes"]]
        cursor, pages = page["cursor"], pages + 1
        if not page["more"]:
            break
    assert seen == ["gen-0", "gen-2", "gen-3", "gen-4", "gen-1"] and pages == 3, "the changed one moves last"


def test_an_expired_cursor_asks_for_a_full_reconcile(configured):
    cloud = configured("[sync]\ntombstone_seconds = 1\n")
    ada = Account(cloud, "ada@example.org").signup().login()
    put_record(ada, "gen-1", [])
    put_record(ada, "gen-2", [])
    cursor = changes(ada)[1]["cursor"]
    ada.call("DELETE", "/v1/records/gen-1")
    put_record(ada, "gen-3", [])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status, body = changes(ada, cursor)
        if status == 410:
            break
        time.sleep(0.3)
    assert status == 410 and body["code"] == "cursor_expired" and "since=0" in body["message"], body
    status, full = changes(ada, 0)
    assert status == 200 and [change["id"] for change in full["changes"]] == ["gen-2", "gen-3"]


def test_quotas_refuse_with_the_limit_and_how_to_raise_it(configured):
    cloud = configured("[tiers.free]\nbytes = 200000\ngenerations = 2\n")
    ada = Account(cloud, "ada@example.org").signup().login()
    assert put_record(ada, "gen-1", [])[0] == 200
    assert put_record(ada, "gen-2", [])[0] == 200
    status, body = put_record(ada, "gen-3", [])
    assert status == 403 and body["code"] == "quota_exceeded", body
    assert "2 generations" in body["message"] and "upgrade to Pro" in body["message"]
    assert put_record(ada, "gen-1", [], b'{"changed": 1}')[0] == 200, "changing one is no new generation"

    big = seal(ada.data_key, os.urandom(250_000))
    status, body = ada.call("PUT", f"/v1/blobs/{blob_name(big)}", big)
    assert status == 403 and body["code"] == "quota_exceeded" and "200000 bytes" in body["message"], body
    status, usage = ada.call("GET", "/v1/account/usage")
    assert usage["tier"] == "free" and usage["generations"] == 2 and usage["bytes_limit"] == 200000, usage


def test_an_early_answer_reaches_a_client_still_sending_its_body(configured):
    """A blob the account already holds, and one over the quota, are answered without storing
    anything, but only once the body is in: a device sending a whole part's worth gets the answer,
    not a connection reset under it (which the daemon would report as the service unreachable)."""
    cloud = configured("[tiers.free]\nbytes = 12000000\ngenerations = 2\n")
    ada = Account(cloud, "ada@example.org").signup().login()
    big = seal(ada.data_key, os.urandom(8_000_000))
    name = blob_name(big)
    assert ada.call("PUT", f"/v1/blobs/{name}", big)[0] == 201
    for _ in range(3):
        assert ada.call("PUT", f"/v1/blobs/{name}", big) == (200, {"name": name, "size": len(big)})
    other = seal(ada.data_key, os.urandom(8_000_000))
    for path in (f"/v1/blobs/{blob_name(other)}", f"/v1/blobs/{blob_name(other)}/parts/0"):
        status, body = ada.call("PUT", path, other)
        assert status == 403 and body["code"] == "quota_exceeded", body
    assert ada.call("GET", "/v1/account/usage")[1]["bytes"] == len(big)


def test_another_account_sees_nothing(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    grace = Account(cloud, "grace@example.org").signup().login()
    name = upload(ada, b"ada's picture")
    put_record(ada, "gen-1", [name])
    assert grace.call("GET", f"/v1/blobs/{name}")[0] == 404
    assert grace.call("GET", "/v1/records/gen-1")[0] == 404
    assert grace.call("DELETE", "/v1/records/gen-1")[0] == 404
    assert changes(grace)[1]["changes"] == []
    status, body = put_record(grace, "gen-2", [name])
    assert status == 409 and body["code"] == "missing_blob", "another account's blob cannot be borrowed"
    assert ada.call("GET", "/v1/records/gen-1")[0] == 200


def test_deleting_the_account_leaves_no_row_no_blob_and_no_byte_of_the_email(cloud, storage):
    ada = Account(cloud, "unforgettable.ada@example.org", name="Ada Unforgettable").signup().login()
    name = upload(ada, os.urandom(100_000))
    put_record(ada, "gen-1", [name])
    status, body = ada.call("DELETE", "/v1/account", {"auth_key": ada.auth_key("not the password").hex()})
    assert status == 401 and body["code"] == "invalid_credentials"
    assert ada.call("DELETE", "/v1/account", {"auth_key": ada.auth_key().hex()})[0] == 204
    assert ada.call("GET", "/v1/account")[0] == 401

    assert storage.leftovers(cloud, ada.id) == []
    assert Account(cloud, ada.email).signup().login(), "the email can sign up again"
    cloud.stop()
    if storage.kind == "sqlite":
        # The new account has the email again; the first one's id and name are in no byte of the files.
        stored = storage.stored_bytes(cloud).lower()
        assert ada.id.encode() not in stored and b"ada unforgettable" not in stored
