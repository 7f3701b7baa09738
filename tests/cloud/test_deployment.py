"""The cloud service as it is deployed: two replicas on one PostgreSQL and one S3 store serving
one account alternately (nothing a request needs lives in one process), and the real argon2id
parameters, which every other test lowers."""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import json
import ssl
import time
import urllib.error
import urllib.request

import pytest
from cloudclient import Account, Server, Storage, blob_name, open_sealed, seal
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def test_two_replicas_on_one_database_serve_one_account_alternately(tmp_path, postgres, s3):
    storage = Storage("postgres", postgres, s3)
    first, second = storage.server(tmp_path / "first"), storage.server(tmp_path / "second")
    try:
        unknown = {"email": "nobody@example.org"}
        assert first.call("POST", "/v1/accounts/prelogin", unknown) == second.call(
            "POST", "/v1/accounts/prelogin", unknown
        ), "an unknown email gets the same fake salt from every replica"

        ada = Account(first, "ada@example.org").signup()
        ada.server = second
        ada.login("laptop")
        picture = seal(ada.data_key, b"uploaded through the second replica")
        assert ada.call("PUT", f"/v1/blobs/{blob_name(picture)}", picture)[0] == 201
        ada.server = first
        record = {"device_id": "laptop", "sealed": base64.b64encode(picture).decode(), "blobs": [blob_name(picture)]}
        assert ada.call("PUT", "/v1/records/gen-1", record)[0] == 200

        ada.server = second
        listed = ada.call("GET", "/v1/changes?since=0")[1]["changes"]
        assert [change["id"] for change in listed] == ["gen-1"]
        ada.server = first
        assert open_sealed(ada.data_key, ada.call("GET", f"/v1/blobs/{blob_name(picture)}")[1]).startswith(b"uploaded")

        # A token refreshed on one replica is the live one on the other; a revocation on one stops
        # the session on the other at once.
        status, tokens = second.call("POST", "/v1/sessions/refresh", {"refresh_token": ada.refresh})
        assert status == 200
        assert first.call("GET", "/v1/account", token=tokens["access_token"])[0] == 200
        assert first.call("POST", "/v1/sessions/refresh", {"refresh_token": tokens["refresh_token"]})[0] == 200
        status, body = second.call("POST", "/v1/sessions/refresh", {"refresh_token": ada.refresh})
        assert status == 401, "the family's old token, replayed on the other replica, is caught there too"
        assert first.call("GET", "/v1/sessions", token=tokens["access_token"])[0] == 401
    finally:
        first.stop()
        second.stop()


def test_the_real_key_derivation_parameters(tmp_path):
    cloud = Server(tmp_path / "cloud", cheap=False)
    try:
        version = cloud.call("GET", "/v1/version")[1]
        assert version["kdf_minimum"] == {
            "algorithm": "argon2id",
            "memory_kib": 19456,
            "iterations": 2,
            "parallelism": 1,
        }
        weak = Account(cloud, "weak@example.org", kdf={"memory_kib": 4096, "iterations": 1, "parallelism": 1})
        status, body = cloud.call("POST", "/v1/accounts", weak.signup_body())
        assert status == 400 and "argon2id" in body["message"], body

        pre = cloud.call("POST", "/v1/accounts/prelogin", {"email": "ada@example.org"})[1]
        assert pre["kdf"] == {"algorithm": "argon2id", "memory_kib": 65536, "iterations": 3, "parallelism": 1}
        ada = Account(
            cloud, "ada@example.org", kdf={k: pre["kdf"][k] for k in ("memory_kib", "iterations", "parallelism")}
        )
        ada.signup()
        started = time.monotonic()
        ada.login()
        assert ada.call("GET", "/v1/account")[0] == 200
        print(f"login with the real parameters (client and server hash): {time.monotonic() - started:.2f} s")
    finally:
        cloud.stop()


def self_signed(folder) -> tuple:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "3dgpt-cloud test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = folder / "cert.pem", folder / "key.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_path, key_path


def test_tls_with_a_certificate(tmp_path):
    certificate, key = self_signed(tmp_path)
    cloud = Server(tmp_path / "cloud", "--tls-cert", str(certificate), "--tls-key", str(key))
    try:
        assert cloud.base.startswith("https://127.0.0.1:")
        cloud.context = ssl.create_default_context(cafile=str(certificate))
        ada = Account(cloud, "ada@example.org").signup().login()
        assert ada.call("GET", "/v1/account")[1]["email"] == "ada@example.org"
        # Over TLS the web pages' session cookie is Secure, under the __Host- prefix, and HSTS is on.
        sign_in = {"email": "ada@example.org", "auth_key": ada.auth_key().hex()}
        request = urllib.request.Request(
            cloud.base + "/v1/web/session", method="POST", data=json.dumps(sign_in).encode()
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, context=cloud.context, timeout=30) as response:
            cookie = response.headers["Set-Cookie"]
            assert cookie.startswith("__Host-3dgpt_session=") and cookie.endswith(
                "; Path=/; HttpOnly; SameSite=Strict; Secure"
            )
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(cloud.base + "/healthz", timeout=10)  # not trusted without the certificate
        with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
            urllib.request.urlopen(cloud.base.replace("https", "http") + "/healthz", timeout=10).read()
        assert cloud.call("GET", "/healthz")[0] == 200, "a failed handshake harms no one else"
    finally:
        cloud.stop()
    with pytest.raises(RuntimeError, match="not a PEM private key"):
        Server(tmp_path / "other", "--tls-cert", str(certificate), "--tls-key", str(certificate))
