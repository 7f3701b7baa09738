"""Sessions on a real `3dgpt-cloud`: rotating refresh tokens (reuse revokes the family, a retry
of the token just replaced works once its answer was lost), logout, the list of sessions and
revoking one, a password change that re-wraps the data key and ends the other sessions, expired
tokens, rate limits per account and per address (and X-Forwarded-For only from a trusted proxy),
and bad bodies answered as JSON sentences; the web pages' cookie session on both storages."""

from __future__ import annotations

import json
import os
import time

import pytest
from cloudclient import Account, Server, hkdf, password_keys, unwrap


@pytest.fixture
def cloud(tmp_path):
    server = Server(tmp_path / "cloud")
    yield server
    server.stop()


def refresh(cloud: Server, token: str):
    return cloud.call("POST", "/v1/sessions/refresh", {"refresh_token": token})


def test_refresh_rotates_and_an_old_token_revokes_the_family(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    first_access, first = ada.access, ada.refresh
    status, second = refresh(cloud, first)
    assert status == 200 and second["refresh_token"] != first and second["session_id"] == ada.session, second
    assert cloud.call("GET", "/v1/account", token=first_access)[0] == 401, "the replaced access token stops"
    assert cloud.call("GET", "/v1/account", token=second["access_token"])[0] == 200
    status, third = refresh(cloud, second["refresh_token"])
    assert status == 200

    # The first token again, two rotations later: somebody else has the family's tokens.
    status, body = refresh(cloud, first)
    assert status == 401 and body["code"] == "invalid_refresh_token", body
    assert cloud.call("GET", "/v1/account", token=third["access_token"])[0] == 401, "the family is revoked"
    assert refresh(cloud, third["refresh_token"])[0] == 401


def test_a_lost_answer_does_not_log_the_device_out(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    lost = refresh(cloud, ada.refresh)[1]  # the answer the device never received
    status, retried = refresh(cloud, ada.refresh)
    assert status == 200, retried
    assert cloud.call("GET", "/v1/account", token=retried["access_token"])[0] == 200
    assert refresh(cloud, lost["refresh_token"])[0] == 401, "the undelivered token is gone"
    assert cloud.call("GET", "/v1/account", token=retried["access_token"])[0] == 200, "without revoking"

    # Once the retry's token is itself replaced, the first one is an old token like any other.
    assert refresh(cloud, retried["refresh_token"])[0] == 200
    assert refresh(cloud, ada.refresh)[0] == 401
    assert cloud.call("GET", "/v1/sessions", token=retried["access_token"])[0] == 401


def test_logout_list_and_revoke(cloud):
    ada = Account(cloud, "ada@example.org").signup()
    laptop = Account(cloud, ada.email, id=ada.id).login("laptop")
    studio = Account(cloud, ada.email, id=ada.id).login("studio")
    status, listed = laptop.call("GET", "/v1/sessions")
    assert status == 200
    sessions = {session["device_name"]: session for session in listed["sessions"]}
    assert set(sessions) == {"laptop", "studio"}
    assert sessions["laptop"]["current"] and not sessions["studio"]["current"]
    assert sessions["studio"]["os"] == "Linux" and sessions["studio"]["client_version"] == "0.1.0"
    assert sessions["studio"]["last_seen_at"] >= sessions["studio"]["created_at"] > 0

    grace = Account(cloud, "grace@example.org").signup().login()
    assert grace.call("DELETE", f"/v1/sessions/{studio.session}")[0] == 404, "another account's is not found"
    assert studio.call("GET", "/v1/account")[0] == 200

    assert laptop.call("DELETE", f"/v1/sessions/{studio.session}")[0] == 204
    status, body = studio.call("GET", "/v1/account")
    assert status == 401 and body["code"] == "unauthenticated", "a revoked session stops at once"
    assert refresh(cloud, studio.refresh)[0] == 401

    assert laptop.call("DELETE", "/v1/sessions/current")[0] == 204
    assert laptop.call("GET", "/v1/account")[0] == 401
    assert refresh(cloud, laptop.refresh)[0] == 401


def test_a_password_change_rewraps_the_data_key_and_ends_the_other_sessions(cloud):
    ada = Account(cloud, "ada@example.org").signup().login("laptop")
    other = Account(cloud, ada.email, id=ada.id, data_key=ada.data_key).login("studio")
    change = {"auth_key": ada.auth_key().hex(), "new": ada.password_material("a new password")}
    wrong = {**change, "auth_key": ada.auth_key("not the password").hex()}
    assert ada.call("POST", "/v1/account/password", wrong)[1]["code"] == "invalid_credentials"
    assert ada.call("POST", "/v1/account/password", change)[0] == 204

    assert ada.call("GET", "/v1/account")[0] == 200, "the session that changed it stays"
    assert other.call("GET", "/v1/account")[0] == 401, "every other session ends"
    body = {"email": ada.email, "auth_key": ada.auth_key().hex()}
    assert cloud.call("POST", "/v1/sessions", body)[0] == 401, "the old password no longer signs in"
    ada.login("laptop", password="a new password")
    status, account = ada.call("GET", "/v1/account")
    salt = bytes.fromhex(cloud.call("POST", "/v1/accounts/prelogin", {"email": ada.email})[1]["salt"])
    _, encryption_key = password_keys("a new password", salt, change["new"]["kdf"])
    wrapped = bytes.fromhex(account["wrapped_data_key"])
    assert unwrap(encryption_key, b"3dgpt v1 data key\0", ada.id, wrapped) == ada.data_key


def test_an_expired_access_token_is_refused_and_refresh_renews_it(tmp_path):
    cloud = Server(tmp_path / "cloud", "--access-token-seconds", "1")
    try:
        ada = Account(cloud, "ada@example.org").signup().login()
        time.sleep(2.1)
        status, body = ada.call("GET", "/v1/account")
        assert status == 401 and body["code"] == "unauthenticated"
        status, renewed = refresh(cloud, ada.refresh)
        assert status == 200 and cloud.call("GET", "/v1/account", token=renewed["access_token"])[0] == 200
    finally:
        cloud.stop()


def wrong_login(cloud: Server, email: str, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else None
    return cloud.call("POST", "/v1/sessions", {"email": email, "auth_key": "00" * 32}, headers=headers)


def test_login_is_rate_limited_per_account_alike_for_unknown_emails(cloud):
    Account(cloud, "ada@example.org").signup()
    for email in ("ada@example.org", "nobody@example.org"):
        answers = [wrong_login(cloud, email) for _ in range(11)]
        assert [status for status, _ in answers] == [401] * 10 + [429], (email, answers[-1])
        assert answers[-1][1]["code"] == "rate_limited" and "try again in" in answers[-1][1]["message"]


def test_per_address_limits_believe_forwarded_addresses_only_from_a_trusted_proxy(tmp_path):
    direct = Server(tmp_path / "direct")
    proxied = Server(tmp_path / "proxied", "--trusted-proxy", "127.0.0.0/8")
    try:
        # Fifty tries per address: forged forwarded addresses do not buy a direct client more.
        statuses = [wrong_login(direct, f"user{n}@example.org", f"203.0.113.{n}")[0] for n in range(51)]
        assert statuses == [401] * 50 + [429]
        # Behind the trusted proxy each forwarded client has its own allowance.
        statuses = [wrong_login(proxied, f"user{n}@example.org", f"203.0.113.{n}")[0] for n in range(51)]
        assert statuses == [401] * 51
        statuses = [wrong_login(proxied, f"other{n}@example.org", "198.51.100.7, 127.0.0.1")[0] for n in range(51)]
        assert statuses == [401] * 50 + [429], "the client is the last hop that is not a trusted proxy"
    finally:
        direct.stop()
        proxied.stop()


def test_bad_bodies_are_answered_in_json(cloud):
    status, body = cloud.call("POST", "/v1/sessions", b"{not json", headers={"Content-Type": "application/json"})
    assert status == 400 and body["code"] == "invalid_json", body
    status, body = cloud.call("POST", "/v1/sessions", {"email": "ada@example.org"})
    assert status == 400 and body["code"] == "invalid_request" and "auth_key" in body["message"], body
    status, body = cloud.call("POST", "/v1/sessions", b"{}")
    assert status == 415 and "Content-Type: application/json" in body["message"], body
    status, body = cloud.call("POST", "/v1/accounts/prelogin", {"email": "x@example.org", "unknown": 1})
    assert status == 200, "unknown fields are ignored"


def test_a_recovery_code_sets_a_new_password_keeps_the_data_and_works_once(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    old_code = ada.recovery_code
    verifier = hkdf(old_code, b"3dgpt v1 recovery verifier").hex()
    wrong = hkdf(os.urandom(20), b"3dgpt v1 recovery verifier").hex()
    refused = cloud.call("POST", "/v1/accounts/recovery/start", {"email": ada.email, "recovery_verifier": wrong})
    unknown = cloud.call("POST", "/v1/accounts/recovery/start", {"email": "no@example.org", "recovery_verifier": wrong})
    assert refused == unknown and refused[0] == 401 and refused[1]["code"] == "invalid_recovery_code"

    status, start = cloud.call(
        "POST", "/v1/accounts/recovery/start", {"email": ada.email, "recovery_verifier": verifier}
    )
    assert status == 200 and start["account_id"] == ada.id
    recovery_key = hkdf(old_code, b"3dgpt v1 recovery key")
    wrapped = bytes.fromhex(start["recovery_wrapped_data_key"])
    assert unwrap(recovery_key, b"3dgpt v1 recovery\0", ada.id, wrapped) == ada.data_key

    ada.recovery_code = os.urandom(20)
    fresh = ada.signup_body()
    finish = {
        "email": ada.email,
        "recovery_verifier": verifier,
        "new": ada.password_material("a new password"),
        "recovery_wrapped_data_key": fresh["recovery_wrapped_data_key"],
        "recovery_verifier_digest": fresh["recovery_verifier_digest"],
    }
    assert cloud.call("POST", "/v1/accounts/recovery/finish", finish)[0] == 204
    assert ada.call("GET", "/v1/account")[0] == 401, "every session ends"
    again = cloud.call("POST", "/v1/accounts/recovery/start", {"email": ada.email, "recovery_verifier": verifier})
    assert again[0] == 401, "a recovery code works once"
    new_verifier = hkdf(ada.recovery_code, b"3dgpt v1 recovery verifier").hex()
    body = {"email": ada.email, "recovery_verifier": new_verifier}
    assert cloud.call("POST", "/v1/accounts/recovery/start", body)[0] == 200, "the new code works"

    ada.login(password="a new password")
    salt = bytes.fromhex(cloud.call("POST", "/v1/accounts/prelogin", {"email": ada.email})[1]["salt"])
    _, encryption_key = password_keys("a new password", salt, ada.kdf)
    wrapped = bytes.fromhex(ada.call("GET", "/v1/account")[1]["wrapped_data_key"])
    assert unwrap(encryption_key, b"3dgpt v1 data key\0", ada.id, wrapped) == ada.data_key, "nothing synced is lost"


def test_changing_the_email_needs_the_password_and_a_free_address(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    Account(cloud, "taken@example.org").signup()
    wrong = {"auth_key": ada.auth_key("not it").hex(), "email": "ada.new@example.org"}
    assert ada.call("POST", "/v1/account/email", wrong)[1]["code"] == "invalid_credentials"
    taken = {"auth_key": ada.auth_key().hex(), "email": "Taken@Example.org"}
    status, body = ada.call("POST", "/v1/account/email", taken)
    assert status == 409 and body["code"] == "email_taken", body
    status, account = ada.call("POST", "/v1/account/email", {**taken, "email": " Ada.New@Example.org "})
    assert status == 200 and account["email"] == "ada.new@example.org", account
    old = {"email": "ada@example.org", "auth_key": ada.auth_key().hex()}
    ada.email = "ada.new@example.org"
    assert ada.login().call("GET", "/v1/account")[0] == 200
    assert cloud.call("POST", "/v1/sessions", old)[0] == 401, "the old address no longer signs in"


def test_a_web_session_lives_in_its_cookie_on_sqlite_and_on_postgresql(storage, tmp_path):
    """The web pages' session (their own tests drive it from Chromium, on SQLite): here on both
    storages, through the API alone — the cookie reads, changes need the CSRF token, it is listed
    and revoked with the devices' sessions, and it is never a bearer token."""
    import urllib.request

    server = storage.server(tmp_path / "cloud")
    try:
        ada = Account(server, "ada@example.org").signup().login("laptop")
        body = {"email": "ada@example.org", "auth_key": ada.auth_key().hex()}
        request = urllib.request.Request(server.base + "/v1/web/session", method="POST", data=json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        request.add_header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
        with urllib.request.urlopen(request, timeout=30) as response:
            web = json.loads(response.read())
            token = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
        cookie = {"Cookie": f"3dgpt_session={token}"}
        assert server.call("GET", "/v1/account", headers=cookie)[1]["email"] == "ada@example.org"
        status, refused = server.call("PATCH", "/v1/account", {"name": "Eve"}, headers=cookie)
        assert status == 403 and refused["code"] == "csrf"
        changed = server.call(
            "PATCH", "/v1/account", {"name": "Ada K"}, headers={**cookie, "X-CSRF-Token": web["csrf_token"]}
        )
        assert changed[0] == 200 and changed[1]["name"] == "Ada K"
        assert server.call("GET", "/v1/account", token=token)[0] == 401
        sessions = ada.call("GET", "/v1/sessions")[1]["sessions"]
        listed = {session["device_name"]: session for session in sessions}
        assert listed["Web (Firefox)"]["os"] == "Linux" and listed["Web (Firefox)"]["client_version"] == "web"
        assert ada.call("DELETE", f"/v1/sessions/{web['session_id']}")[0] == 204
        assert server.call("GET", "/v1/account", headers=cookie)[0] == 401
        assert server.call("GET", "/v1/web/session", headers=cookie) == (200, {"signed_in": False})
    finally:
        server.stop()
