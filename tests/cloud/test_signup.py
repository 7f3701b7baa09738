"""The cloud service's first part, as a real `3dgpt-cloud` process on loopback: versions and
health, the age gate (nothing stored about a refused attempt), sign-up that reveals no account,
pre-login salts (a fake one for an unknown email), login with the auth key docs/crypto.md derives
(never the password), and the account behind its token. Cheap argon2 parameters throughout."""

from __future__ import annotations

import pytest
from cloudclient import Account, Server, password_keys


@pytest.fixture
def cloud(tmp_path):
    server = Server(tmp_path / "cloud")
    yield server
    server.stop()


def signup_body(email: str, born: str, password: str = "correct horse") -> dict:
    return Account(None, email, password=password, born=born).signup_body()


def test_version_health_and_readiness(cloud):
    assert cloud.call("GET", "/healthz") == (200, {"status": "ok"})
    assert cloud.call("GET", "/readyz") == (200, {"status": "ready"})
    status, version = cloud.call("GET", "/v1/version")
    assert status == 200 and version["api_version"] == "v1" and version["kdf_minimum"]["algorithm"] == "argon2id"
    status, missing = cloud.call("GET", "/v1/nothing-here")
    assert status == 404 and missing["code"] == "not_found" and missing["message"]


def test_under_13_is_refused_and_nothing_of_the_attempt_is_kept(cloud):
    status, body = cloud.call("POST", "/v1/accounts", signup_body("Young.One@example.org", "2020-02-02"))
    assert status == 403 and body["code"] == "too_young", body
    assert cloud.call("POST", "/v1/accounts/prelogin", {"email": "young.one@example.org"})[0] == 200
    cloud.stop()
    assert b"young.one" not in cloud.stored_bytes().lower()
    assert "young.one" not in cloud.log.lower()


def test_sign_up_reveals_no_account_and_login_takes_the_auth_key_not_the_password(cloud):
    body = signup_body("  Ada@Example.org ", "1990-05-17")
    first = cloud.call("POST", "/v1/accounts", body)
    again = cloud.call("POST", "/v1/accounts", signup_body("ada@example.org", "1985-01-01", "another"))
    assert first == again and first[0] == 202, (first, again)

    status, known = cloud.call("POST", "/v1/accounts/prelogin", {"email": "ADA@example.org"})
    assert status == 200 and known["salt"] == body["salt"] and known["kdf"]["memory_kib"] == 64
    unknown = cloud.call("POST", "/v1/accounts/prelogin", {"email": "nobody@example.org"})[1]
    assert set(unknown) == set(known) and len(unknown["salt"]) == 32
    assert unknown == cloud.call("POST", "/v1/accounts/prelogin", {"email": "nobody@example.org"})[1]

    auth_key, _ = password_keys("correct horse", bytes.fromhex(known["salt"]), known["kdf"])
    status, session = cloud.call("POST", "/v1/sessions", {"email": "ada@example.org", "auth_key": auth_key.hex()})
    assert status == 200 and session["access_token"] and session["refresh_token"], session
    wrong, _ = password_keys("wrong horse", bytes.fromhex(known["salt"]), known["kdf"])
    refused = cloud.call("POST", "/v1/sessions", {"email": "ada@example.org", "auth_key": wrong.hex()})
    nobody = cloud.call("POST", "/v1/sessions", {"email": "nobody@example.org", "auth_key": wrong.hex()})
    assert refused == nobody and refused[0] == 401 and refused[1]["code"] == "invalid_credentials"

    status, account = cloud.call("GET", "/v1/account", token=session["access_token"])
    assert status == 200 and (account["name"], account["email"]) == ("Ada", "ada@example.org"), account
    assert cloud.call("GET", "/v1/account")[1]["code"] == "unauthenticated"
    assert cloud.call("GET", "/v1/account", token="0" * 64)[0] == 401


def test_the_server_holds_no_password_and_no_key_that_opens_the_data(cloud):
    body = signup_body("grace@example.org", "1970-01-01", "a password nobody should see")
    assert cloud.call("POST", "/v1/accounts", body)[0] == 202
    cloud.stop()
    stored = cloud.stored_bytes()
    assert b"a password nobody should see" not in stored
    assert bytes.fromhex(body["auth_key"]) not in stored, "only argon2id(auth key) is kept"


def test_bad_requests_get_a_sentence(cloud):
    status, body = cloud.call("POST", "/v1/accounts/prelogin", {"email": "not an email"})
    assert status == 400 and "not an email address" in body["message"]
    status, body = cloud.call("POST", "/v1/accounts", {**signup_body("x@example.org", "1990-01-01"), "salt": "zz"})
    assert status == 400 and "salt must be 16 bytes" in body["message"]
    status, body = cloud.call("POST", "/v1/accounts", signup_body("x@example.org", "1990-02-30"))
    assert status == 400 and "YYYY-MM-DD" in body["message"]


def test_the_log_names_routes_never_the_ids_or_emails_in_requests(tmp_path):
    cloud = Server(tmp_path / "cloud", env={"RUST_LOG": "debug"})
    ada = Account(cloud, "logged.ada@example.org").signup().login()
    assert ada.call("GET", "/v1/records/secret-generation-id")[0] == 404
    cloud.stop()
    assert "route=/v1/records/{id}" in cloud.log and "status=404" in cloud.log
    for private in ("secret-generation-id", "logged.ada", ada.access, ada.refresh):
        assert private not in cloud.log, private
