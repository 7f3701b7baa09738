"""crypto/vectors.json recomputed with libraries that share no code with ours (Python's
`cryptography` for HKDF, HMAC and AES-GCM, `argon2-cffi` for argon2id): what docs/crypto.md
specifies is what `crypto/` (threedgpt-crypto) does, and what the browser must reproduce."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from conftest import ROOT

VECTORS = json.loads((ROOT / "crypto" / "vectors.json").read_text())["vectors"]
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def hkdf(ikm: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def crockford(bits: bytes) -> str:
    number = int.from_bytes(bits, "big")
    digits = "".join(CROCKFORD[(number >> (5 * (31 - index))) & 31] for index in range(32))
    return "-".join(digits[index : index + 4] for index in range(0, 32, 4))


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
def test_an_independent_implementation_reproduces_the_vector(vector):
    unhex = bytes.fromhex
    assert vector["email"] == vector["email_input"].strip().lower()
    params = vector["argon2id"]
    master = hash_secret_raw(
        vector["password"].encode(),
        unhex(vector["salt"]),
        time_cost=params["iterations"],
        memory_cost=params["memory_kib"],
        parallelism=params["parallelism"],
        hash_len=32,
        type=Type.ID,
        version=19,
    )
    encryption_key = hkdf(master, b"3dgpt v1 encryption key")
    assert hkdf(master, b"3dgpt v1 auth key").hex() == vector["auth_key"]
    assert encryption_key.hex() == vector["encryption_key"]

    secret = unhex(vector["server_secret"])
    fake = hmac.new(secret, b"3dgpt v1 fake salt\0" + vector["email"].encode(), hashlib.sha256).digest()[:16]
    assert fake.hex() == vector["fake_salt"]

    account = vector["account_id"].encode()
    data_key = unhex(vector["data_key"])
    wrap_nonce = unhex(vector["wrap_nonce"])
    wrapped = wrap_nonce + AESGCM(encryption_key).encrypt(wrap_nonce, data_key, b"3dgpt v1 data key\0" + account)
    assert wrapped.hex() == vector["wrapped_data_key"]

    code = unhex(vector["recovery_code_bytes"])
    assert crockford(code) == vector["recovery_code"]
    recovery_key = hkdf(code, b"3dgpt v1 recovery key")
    verifier = hkdf(code, b"3dgpt v1 recovery verifier")
    assert recovery_key.hex() == vector["recovery_key"]
    assert verifier.hex() == vector["recovery_verifier"]
    assert hashlib.sha256(verifier).hexdigest() == vector["recovery_verifier_digest"]
    nonce = unhex(vector["recovery_nonce"])
    recovered = nonce + AESGCM(recovery_key).encrypt(nonce, data_key, b"3dgpt v1 recovery\0" + account)
    assert recovered.hex() == vector["recovery_wrapped_data_key"]

    salt = unhex(vector["blob_salt"])
    blob_key = hkdf(data_key, b"3dgpt v1 blob key", salt=salt)
    # One chunk (the plaintext is under 1 MiB): index 0, marked last.
    chunk_nonce = bytes(7) + (0).to_bytes(4, "big") + b"\x01"
    sealed = b"3GB1" + salt + AESGCM(blob_key).encrypt(chunk_nonce, unhex(vector["blob_plaintext"]), b"3dgpt v1 blob")
    assert sealed.hex() == vector["blob_sealed"]
    assert hashlib.sha256(sealed).hexdigest() == vector["blob_name"]
