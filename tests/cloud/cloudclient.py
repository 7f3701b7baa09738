"""A test client of the cloud service written from docs/crypto.md with independent libraries
(argon2-cffi, cryptography): it starts a real `3dgpt-cloud` on loopback, signs up and signs in as
a device does, and seals records and blobs the way the daemon will. Cheap argon2 parameters."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ROOT = Path(__file__).resolve().parents[2]
CHEAP = {"memory_kib": 64, "iterations": 1, "parallelism": 1}
CHUNK = 1 << 20


class Server:
    """A `3dgpt-cloud serve` process on a free loopback port, stopped by `stop`."""

    def __init__(
        self, data: Path, *extra: str, env: dict | None = None, cheap: bool = True, listen: str = "127.0.0.1:0"
    ):
        binary = Path(os.environ.get("THREEDGPT_CLOUD_BIN", ROOT / "target" / "debug" / "3dgpt-cloud"))
        if not binary.exists():
            raise RuntimeError(f"{binary} does not exist: build it with `cargo build -p threedgpt-cloud`")
        self.data = data
        self.process = subprocess.Popen(
            [str(binary), "serve", "--listen", listen, "--data", str(data)]
            + (["--hash-memory-kib", "64", "--minimum-kdf-memory-kib", "64"] if cheap else [])
            + list(extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        line = self.process.stdout.readline()
        if not line.startswith(("3dgpt-cloud listening on http://", "3dgpt-cloud listening on https://")):
            self.process.kill()
            raise RuntimeError(f"3dgpt-cloud did not start: {line!r} {self.process.stderr.read()}")
        self.base = line.split()[-1]
        self.log = ""
        # An ssl.SSLContext that trusts the server's certificate, for a server started with TLS.
        self.context = None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.log = self.process.stderr.read()

    def call(self, method: str, path: str, body=None, token: str | None = None, headers: dict | None = None):
        """(status, decoded JSON or raw bytes) of one request; `body` is JSON unless it is bytes."""
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, method=method, data=data)
        binary = isinstance(body, bytes)
        request.add_header("Content-Type", "application/octet-stream" if binary else "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60, context=self.context) as response:
                return response.status, decode(response.read(), response.headers.get("Content-Type"))
        except urllib.error.HTTPError as error:
            return error.code, decode(error.read(), error.headers.get("Content-Type"))

    def stored_bytes(self) -> bytes:
        """Every byte the server keeps in its data folder (database, WAL, blobs)."""
        return b"".join(path.read_bytes() for path in sorted(self.data.rglob("*")) if path.is_file())


class Storage:
    """Where a server keeps its rows and blobs: SQLite and the blob folder in its data folder, or
    a database of the test PostgreSQL cluster and a bucket of the test S3 server."""

    def __init__(self, kind: str, postgres=None, s3=None):
        self.kind = kind
        self.postgres, self.s3 = postgres, s3
        self.args: list[str] = []
        self.env: dict = {}
        if kind == "postgres":
            self.database, url = postgres.database()
            self.bucket = s3.bucket()
            self.args = ["--database", url, "--blobs", f"s3://{self.bucket}/blobs"]
            self.env = s3.environment()

    def server(self, data: Path, *extra: str) -> Server:
        return Server(data, *self.args, *extra, env=self.env)

    def leftovers(self, server: Server, account_id: str) -> list[str]:
        """Every row and blob that still names the account."""
        tables = {"accounts": "id", "sessions": "account_id", "blobs": "account_id", "records": "account_id"}
        found = []
        if self.kind == "postgres":
            for table, column in tables.items():
                count = self.postgres.sql(
                    self.database, f"SELECT COUNT(*) FROM {table} WHERE {column} = '{account_id}'"
                )
                found += [f"{table}: {count} rows"] if count != "0" else []
            found += [key for key in self.s3.keys(self.bucket) if account_id in key]
        else:
            import sqlite3

            with sqlite3.connect(server.data / "cloud.db") as database:
                for table, column in tables.items():
                    (count,) = database.execute(
                        f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (account_id,)
                    ).fetchone()
                    found += [f"{table}: {count} rows"] if count else []
            found += [str(path) for path in (server.data / "blobs").rglob("*") if account_id in str(path)]
        return found

    def stored_bytes(self, server: Server) -> bytes:
        """Every byte the server's storage holds."""
        if self.kind != "postgres":
            return server.stored_bytes()
        files = b"".join(path.read_bytes() for path in sorted(self.postgres.folder.rglob("*")) if path.is_file())
        client = self.s3.client
        objects = [client.get_object(Bucket=self.bucket, Key=key)["Body"].read() for key in self.s3.keys(self.bucket)]
        return files + b"".join(objects)


def decode(raw: bytes, content_type: str | None):
    if content_type and content_type.startswith("application/json"):
        return json.loads(raw)
    return raw


def hkdf(ikm: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def password_keys(password: str, salt: bytes, kdf: dict) -> tuple[bytes, bytes]:
    """(auth key, encryption key) of docs/crypto.md."""
    master = hash_secret_raw(
        password.encode(),
        salt,
        time_cost=kdf["iterations"],
        memory_cost=kdf["memory_kib"],
        parallelism=kdf["parallelism"],
        hash_len=32,
        type=Type.ID,
    )
    return hkdf(master, b"3dgpt v1 auth key"), hkdf(master, b"3dgpt v1 encryption key")


def wrap(key: bytes, aad_label: bytes, account_id: str, data_key: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, data_key, aad_label + account_id.encode())


def unwrap(key: bytes, aad_label: bytes, account_id: str, wrapped: bytes) -> bytes:
    return AESGCM(key).decrypt(wrapped[:12], wrapped[12:], aad_label + account_id.encode())


def seal(data_key: bytes, plaintext: bytes) -> bytes:
    """A sealed blob: "3GB1" ‖ salt ‖ 1 MiB chunks under a per-blob key."""
    salt = os.urandom(16)
    key = AESGCM(hkdf(data_key, b"3dgpt v1 blob key", salt))
    chunks = [plaintext[i : i + CHUNK] for i in range(0, len(plaintext), CHUNK)] or [b""]
    sealed = [
        key.encrypt(b"\0" * 7 + struct.pack(">I", i) + bytes([i == len(chunks) - 1]), chunk, b"3dgpt v1 blob")
        for i, chunk in enumerate(chunks)
    ]
    return b"3GB1" + salt + b"".join(sealed)


def open_sealed(data_key: bytes, sealed: bytes) -> bytes:
    assert sealed[:4] == b"3GB1"
    key = AESGCM(hkdf(data_key, b"3dgpt v1 blob key", sealed[4:20]))
    body = sealed[20:]
    size = CHUNK + 16
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(
        key.decrypt(b"\0" * 7 + struct.pack(">I", i) + bytes([i == len(pieces) - 1]), piece, b"3dgpt v1 blob")
        for i, piece in enumerate(pieces)
    )


def blob_name(sealed: bytes) -> str:
    return hashlib.sha256(sealed).hexdigest()


@dataclass
class Account:
    """One person's account as their device knows it."""

    server: Server
    email: str
    password: str = "correct horse battery"
    name: str = "Ada"
    born: str = "1990-05-17"
    id: str = field(default_factory=lambda: "acct_" + os.urandom(16).hex())
    data_key: bytes = field(default_factory=lambda: os.urandom(32))
    recovery_code: bytes = field(default_factory=lambda: os.urandom(20))
    access: str = ""
    refresh: str = ""
    session: str = ""
    kdf: dict = field(default_factory=lambda: dict(CHEAP))

    def password_material(self, password: str, salt: bytes | None = None) -> dict:
        salt = salt or os.urandom(16)
        auth_key, encryption_key = password_keys(password, salt, self.kdf)
        return {
            "salt": salt.hex(),
            "kdf": self.kdf,
            "auth_key": auth_key.hex(),
            "wrapped_data_key": wrap(encryption_key, b"3dgpt v1 data key\0", self.id, self.data_key).hex(),
        }

    def signup_body(self) -> dict:
        recovery_key = hkdf(self.recovery_code, b"3dgpt v1 recovery key")
        verifier = hkdf(self.recovery_code, b"3dgpt v1 recovery verifier")
        return {
            "account_id": self.id,
            "name": self.name,
            "email": self.email,
            "date_of_birth": self.born,
            **self.password_material(self.password),
            "recovery_wrapped_data_key": wrap(recovery_key, b"3dgpt v1 recovery\0", self.id, self.data_key).hex(),
            "recovery_verifier_digest": hashlib.sha256(verifier).hexdigest(),
        }

    def signup(self) -> Account:
        status, body = self.server.call("POST", "/v1/accounts", self.signup_body())
        assert status == 202, body
        return self

    def auth_key(self, password: str | None = None) -> bytes:
        status, pre = self.server.call("POST", "/v1/accounts/prelogin", {"email": self.email})
        assert status == 200, pre
        return password_keys(password or self.password, bytes.fromhex(pre["salt"]), pre["kdf"])[0]

    def login(self, device: str = "test device", password: str | None = None) -> Account:
        body = {"email": self.email, "auth_key": self.auth_key(password).hex(), "device_name": device}
        status, tokens = self.server.call("POST", "/v1/sessions", {**body, "os": "Linux", "client_version": "0.1.0"})
        assert status == 200, tokens
        self.access, self.refresh, self.session = tokens["access_token"], tokens["refresh_token"], tokens["session_id"]
        return self

    def call(self, method: str, path: str, body=None, headers: dict | None = None):
        return self.server.call(method, path, body, token=self.access, headers=headers)
