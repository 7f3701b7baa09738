"""Who may do what on a real `3dgpt-cloud`: every authenticated endpoint × {the owner, another
account, no token, an expired token, a revoked session}. Only the owner gets anything; another
account gets 404 for the owner's resources (never 403 with details) and never sees the owner's
data; the rest get 401. Also anonymous telemetry, and the sign-up age per country."""

from __future__ import annotations

import base64
import os
import time

import pytest
from cloudclient import Account, Server, blob_name, seal

TOKEN_SECONDS = 5


class Owner:
    """The account whose resources every request names."""

    def __init__(self, cloud: Server):
        self.account = Account(cloud, "owner@example.org", name="Olivia Owner").signup().login("owner laptop")
        self.sealed = seal(self.account.data_key, b"the owner's picture")
        self.blob = blob_name(self.sealed)
        assert self.account.call("PUT", f"/v1/blobs/{self.blob}", self.sealed)[0] == 201
        record = {"device_id": "laptop", "sealed": base64.b64encode(self.sealed).decode(), "blobs": [self.blob]}
        assert self.account.call("PUT", "/v1/records/owner-gen", record)[0] == 200
        self.part = seal(self.account.data_key, b"part")
        self.part_blob = blob_name(self.part)
        assert self.account.call("PUT", f"/v1/blobs/{self.part_blob}/parts/0", self.part)[0] == 204
        self.spare_session = Account(cloud, self.account.email, id=self.account.id).login("owner studio").session


def endpoints(owner: Owner) -> list[tuple[str, str, object]]:
    """Every endpoint that takes an access token, aimed at the owner's resources."""
    auth = {"auth_key": owner.account.auth_key().hex()}
    new_password = {**auth, "new": owner.account.password_material("another password")}
    record = {"device_id": "laptop", "sealed": base64.b64encode(owner.sealed).decode(), "blobs": [owner.blob]}
    return [
        ("GET", "/v1/account", None),
        ("PATCH", "/v1/account", {"name": "Renamed"}),
        ("GET", "/v1/account/usage", None),
        ("GET", "/v1/account/settings", None),
        ("PUT", "/v1/account/settings", {"based_on": 1, "device_id": "laptop", "marketing_email": False}),
        ("GET", "/v1/account/consent", None),
        ("GET", "/v1/account/export", None),
        ("GET", "/v1/sessions", None),
        ("DELETE", f"/v1/sessions/{owner.spare_session}", None),  # not found for another account
        ("GET", f"/v1/blobs/{owner.blob}", None),  # not found for another account
        ("PUT", f"/v1/blobs/{owner.blob}", owner.sealed),
        ("GET", f"/v1/blobs/{owner.part_blob}/parts", None),
        ("PUT", f"/v1/blobs/{owner.part_blob}/parts/0", owner.part),
        ("POST", f"/v1/blobs/{owner.part_blob}/complete", {"parts": 1}),
        ("GET", "/v1/records/owner-gen", None),  # not found for another account
        ("PUT", "/v1/records/owner-gen", record),
        ("GET", "/v1/changes?since=0", None),
        ("DELETE", "/v1/records/owner-gen", None),  # not found for another account
        ("DELETE", "/v1/records", None),
        ("POST", "/v1/account/email", {**auth, "email": owner.account.email}),
        ("POST", "/v1/account/password", new_password),
        ("DELETE", "/v1/sessions/current", None),
        # The password's auth key at the time of the call (the owner's pass changed it just before).
        ("DELETE", "/v1/account", lambda: {"auth_key": owner.account.auth_key().hex()}),
    ]


def other_gets_not_found(owner: Owner, method: str, path: str) -> bool:
    """Whether another account's request names one of the owner's things (the rest answer the
    other account's own, empty view)."""
    return (method, path) in {
        ("DELETE", f"/v1/sessions/{owner.spare_session}"),
        ("GET", f"/v1/blobs/{owner.blob}"),
        ("GET", "/v1/records/owner-gen"),
        ("DELETE", "/v1/records/owner-gen"),
    }


def refreshed(account: Account) -> Account:
    status, tokens = account.server.call("POST", "/v1/sessions/refresh", {"refresh_token": account.refresh})
    assert status == 200, tokens
    account.access, account.refresh = tokens["access_token"], tokens["refresh_token"]
    return account


@pytest.fixture
def cloud(tmp_path):
    server = Server(tmp_path / "cloud", "--access-token-seconds", str(TOKEN_SECONDS))
    yield server
    server.stop()


def test_only_the_owner_gets_anything(cloud):
    expired = Account(cloud, "expired@example.org").signup().login().access
    revoked_account = Account(cloud, "revoked@example.org").signup().login()
    revoked = revoked_account.access
    assert revoked_account.call("DELETE", "/v1/sessions/current")[0] == 204
    time.sleep(TOKEN_SECONDS + 0.5)  # `expired` is now past its lifetime

    owner = Owner(cloud)
    other = Account(cloud, "other@example.org", name="Mallory Other").signup().login()
    # What only the owner's account holds (the other account may upload the same bytes or ids into
    # its own space: that is its own, not the owner's).
    secrets = [owner.account.id.encode(), b"owner@example.org", b"Olivia Owner", owner.spare_session.encode()]
    # Writes last, so that the other account's own uploads under the same names come after it was
    # refused the owner's.
    for method, path, body in sorted(endpoints(owner), key=lambda endpoint: endpoint[0] == "PUT"):
        body = body() if callable(body) else body
        for token, who in ((None, "no token"), (expired, "expired token"), (revoked, "revoked session")):
            status, answer = cloud.call(method, path, body, token=token)
            assert status == 401 and answer["code"] == "unauthenticated", (method, path, who, status, answer)

        status, answer = refreshed(other).call(method, path, body)
        raw = answer if isinstance(answer, bytes) else str(answer).encode()
        assert not any(secret in raw for secret in secrets), (method, path, "leaks the owner's data", answer)
        if other_gets_not_found(owner, method, path):
            assert status == 404 and answer["code"] == "not_found", (method, path, status, answer)
        assert status != 403 or answer["code"] in ("quota_exceeded", "sync_disabled"), (method, path, answer)
        if (method, path) == ("DELETE", "/v1/sessions/current"):
            other.login()

    # Nothing another account did touched the owner's things.
    owner_account = refreshed(owner.account)
    assert owner_account.call("GET", f"/v1/blobs/{owner.blob}")[1] == owner.sealed
    assert owner_account.call("GET", "/v1/records/owner-gen")[0] == 200
    assert owner_account.call("GET", "/v1/account")[1]["name"] == "Olivia Owner"
    sessions = [session["device_name"] for session in owner_account.call("GET", "/v1/sessions")[1]["sessions"]]
    assert sorted(sessions) == ["owner laptop", "owner studio"]

    # And the owner may do every one of them, in this order (the account's deletion last).
    for method, path, body in endpoints(owner):
        status, answer = refreshed(owner_account).call(method, path, body() if callable(body) else body)
        assert 200 <= status < 300, (method, path, status, answer)
        if path == "/v1/account/password":
            owner_account.password = "another password"
        if (method, path) == ("DELETE", "/v1/sessions/current"):
            owner_account.login("owner laptop")


def test_telemetry_is_anonymous_and_takes_nothing_else(cloud):
    event = {"install_id": os.urandom(16).hex(), "event": "generate.done", "duration_ms": 1234, "os": "Linux"}
    assert cloud.call("POST", "/v1/telemetry", event)[0] == 204
    assert (
        cloud.call("POST", "/v1/telemetry", {**event, "error_code": "decode_failed", "device_class": "laptop"})[0]
        == 204
    )
    for extra in ({"email": "ada@example.org"}, {"account_id": "acct_1"}, {"path": "/home/ada/duck.png"}):
        status, body = cloud.call("POST", "/v1/telemetry", {**event, **extra})
        assert status == 400 and "unknown field" in body["message"], (extra, body)
    ada = Account(cloud, "ada@example.org").signup().login()
    status, body = ada.call("POST", "/v1/telemetry", event)
    assert status == 400 and "without credentials" in body["message"], body
    assert cloud.call("POST", "/v1/telemetry", {**event, "install_id": "ada"})[0] == 400
    cloud.stop()
    assert b"generate.done" in cloud.stored_bytes()


def test_a_country_may_ask_for_an_older_age_never_a_younger_one(tmp_path):
    config = tmp_path / "cloud.toml"
    config.write_text("[age.countries]\nNL = 16\n")
    cloud = Server(tmp_path / "cloud", "--config", str(config))
    try:
        born = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 14.5 * 365.25 * 86400))
        young = Account(cloud, "young@example.org", born=born)
        status, body = cloud.call("POST", "/v1/accounts", {**young.signup_body(), "country": "NL"})
        assert status == 403 and body["code"] == "too_young" and "16" in body["message"], body
        assert cloud.call("POST", "/v1/accounts", {**young.signup_body(), "country": "FR"})[0] == 202
    finally:
        cloud.stop()
    config.write_text("[age.countries]\nXX = 12\n")
    refused = Server.__new__(Server)
    with pytest.raises(RuntimeError, match="under 13"):
        refused.__init__(tmp_path / "other", "--config", str(config))
