"""The cloud service's first part, as a real `3dgpt-cloud` process on loopback: versions and
health, the age gate (nothing stored about a refused attempt), sign-up that reveals no account,
pre-login salts (a fake one for an unknown email), login with the auth key docs/crypto.md derives
(never the password), and the account behind its token. Cheap argon2 parameters throughout."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from conftest import ROOT

CHEAP = {"memory_kib": 64, "iterations": 1, "parallelism": 1}


@pytest.fixture
def cloud(tmp_path):
    binary = Path(os.environ.get("THREEDGPT_CLOUD_BIN", ROOT / "target" / "debug" / "3dgpt-cloud"))
    if not binary.exists():
        raise RuntimeError(f"{binary} does not exist: build it with `cargo build -p threedgpt-cloud`")
    data = tmp_path / "cloud"
    process = subprocess.Popen(
        [str(binary), "serve", "--listen", "127.0.0.1:0", "--data", str(data)]
        + ["--hash-memory-kib", "64", "--minimum-kdf-memory-kib", "64"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    assert line.startswith("3dgpt-cloud listening on http://"), (line, process.stderr.read())
    base = line.split()[-1]
    yield base, data, process
    process.terminate()
    process.wait(timeout=30)


def call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def keys(password: str, salt: bytes, kdf: dict) -> tuple[bytes, bytes]:
    master = hash_secret_raw(
        password.encode(),
        salt,
        time_cost=kdf["iterations"],
        memory_cost=kdf["memory_kib"],
        parallelism=kdf["parallelism"],
        hash_len=32,
        type=Type.ID,
    )

    def expand(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)

    return expand(b"3dgpt v1 auth key"), expand(b"3dgpt v1 encryption key")


def signup_body(email: str, born: str, password: str = "correct horse") -> dict:
    salt = os.urandom(16)
    auth_key, encryption_key = keys(password, salt, CHEAP)
    data_key = os.urandom(32)
    nonce = os.urandom(12)
    # The account id is the server's; the client re-wraps once it knows it (a later step).
    wrapped = nonce + AESGCM(encryption_key).encrypt(nonce, data_key, b"3dgpt v1 data key\0")
    return {
        "name": "Ada",
        "email": email,
        "date_of_birth": born,
        "salt": salt.hex(),
        "kdf": CHEAP,
        "auth_key": auth_key.hex(),
        "wrapped_data_key": wrapped.hex(),
        "recovery_wrapped_data_key": wrapped.hex(),
        "recovery_verifier_digest": hashlib.sha256(os.urandom(32)).hexdigest(),
    }


def stored_bytes(data: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(data.iterdir()) if path.is_file())


def test_version_health_and_readiness(cloud):
    base, _, _ = cloud
    assert call(base, "GET", "/healthz") == (200, {"status": "ok"})
    assert call(base, "GET", "/readyz") == (200, {"status": "ready"})
    status, version = call(base, "GET", "/v1/version")
    assert status == 200 and version["api_version"] == "v1" and version["kdf_minimum"]["algorithm"] == "argon2id"
    status, missing = call(base, "GET", "/v1/nothing-here")
    assert status == 404 and missing["code"] == "not_found" and missing["message"]


def test_under_13_is_refused_and_nothing_of_the_attempt_is_kept(cloud):
    base, data, process = cloud
    status, body = call(base, "POST", "/v1/accounts", signup_body("Young.One@example.org", "2020-02-02"))
    assert status == 403 and body["code"] == "too_young", body
    assert call(base, "POST", "/v1/accounts/prelogin", {"email": "young.one@example.org"})[0] == 200
    process.terminate()
    process.wait(timeout=30)
    assert b"young.one" not in stored_bytes(data).lower()
    assert "young.one" not in process.stderr.read().lower()


def test_sign_up_reveals_no_account_and_login_takes_the_auth_key_not_the_password(cloud):
    base, _, _ = cloud
    body = signup_body("  Ada@Example.org ", "1990-05-17")
    first = call(base, "POST", "/v1/accounts", body)
    again = call(base, "POST", "/v1/accounts", signup_body("ada@example.org", "1985-01-01", "another"))
    assert first == again and first[0] == 202, (first, again)

    status, known = call(base, "POST", "/v1/accounts/prelogin", {"email": "ADA@example.org"})
    assert status == 200 and known["salt"] == body["salt"] and known["kdf"]["memory_kib"] == 64
    unknown = call(base, "POST", "/v1/accounts/prelogin", {"email": "nobody@example.org"})[1]
    assert set(unknown) == set(known) and len(unknown["salt"]) == 32
    assert unknown == call(base, "POST", "/v1/accounts/prelogin", {"email": "nobody@example.org"})[1]

    auth_key, _ = keys("correct horse", bytes.fromhex(known["salt"]), known["kdf"])
    status, session = call(base, "POST", "/v1/sessions", {"email": "ada@example.org", "auth_key": auth_key.hex()})
    assert status == 200 and session["access_token"] and session["refresh_token"], session
    wrong, _ = keys("wrong horse", bytes.fromhex(known["salt"]), known["kdf"])
    refused = call(base, "POST", "/v1/sessions", {"email": "ada@example.org", "auth_key": wrong.hex()})
    nobody = call(base, "POST", "/v1/sessions", {"email": "nobody@example.org", "auth_key": wrong.hex()})
    assert refused == nobody and refused[0] == 401 and refused[1]["code"] == "invalid_credentials"

    status, account = call(base, "GET", "/v1/account", token=session["access_token"])
    assert status == 200 and (account["name"], account["email"]) == ("Ada", "ada@example.org"), account
    assert call(base, "GET", "/v1/account")[1]["code"] == "unauthenticated"
    assert call(base, "GET", "/v1/account", token="0" * 64)[0] == 401


def test_the_server_holds_no_password_and_no_key_that_opens_the_data(cloud):
    base, data, process = cloud
    body = signup_body("grace@example.org", "1970-01-01", "a password nobody should see")
    assert call(base, "POST", "/v1/accounts", body)[0] == 202
    process.terminate()
    process.wait(timeout=30)
    stored = stored_bytes(data)
    assert b"a password nobody should see" not in stored
    assert bytes.fromhex(body["auth_key"]) not in stored, "only argon2id(auth key) is kept"


def test_bad_requests_get_a_sentence(cloud):
    base, _, _ = cloud
    status, body = call(base, "POST", "/v1/accounts/prelogin", {"email": "not an email"})
    assert status == 400 and "not an email address" in body["message"]
    status, body = call(base, "POST", "/v1/accounts", {**signup_body("x@example.org", "1990-01-01"), "salt": "zz"})
    assert status == 400 and "salt must be 16 bytes" in body["message"]
    status, body = call(base, "POST", "/v1/accounts", signup_body("x@example.org", "1990-02-30"))
    assert status == 400 and "YYYY-MM-DD" in body["message"]
