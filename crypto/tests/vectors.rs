//! The test vectors of docs/crypto.md (`crypto/vectors.json`): this implementation reproduces
//! every value, and the end-to-end suite recomputes them with independent libraries (Python's
//! `cryptography` and `argon2-cffi`), as the browser's implementation must. `UPDATE_VECTORS=1`
//! writes the file from this implementation (then review the diff: a change breaks every client).

use serde_json::{Value, json};
use threedgpt_crypto::{
    KdfParams, Key, RecoveryCode, blob_name, fake_salt, normalize_email, open, password_keys, seal_with_salt,
    unwrap_data_key, verifier_digest, wrap_data_key_with_nonce,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn pattern<const N: usize>(start: u8) -> [u8; N] {
    std::array::from_fn(|index| start.wrapping_add(index as u8 * 7))
}

/// One vector, computed from fixed inputs.
fn vector(name: &str, params: KdfParams) -> Value {
    let email = normalize_email("  Ada.Lovelace@Example.org ").unwrap();
    let password = "correct horse battery staple ✓";
    let salt: [u8; 16] = pattern(1);
    let keys = password_keys(password, &salt, params, params).unwrap();
    let account_id = "acct_01J9Z3X6Q2";
    let data_key = Key(pattern(100));
    let wrap_nonce: [u8; 12] = pattern(200);
    let wrapped = wrap_data_key_with_nonce(&keys.encryption_key, account_id, &data_key, wrap_nonce);
    assert_eq!(unwrap_data_key(&keys.encryption_key, account_id, &wrapped).unwrap(), data_key);
    let code = RecoveryCode::from_bytes(pattern(50));
    let recovery_nonce: [u8; 12] = pattern(150);
    let recovery_wrapped = code.wrap_with_nonce(account_id, &data_key, recovery_nonce);
    let blob_salt: [u8; 16] = pattern(30);
    let plaintext = b"\x89PNG\r\n\x1a\n one sealed chunk of a picture";
    let sealed = seal_with_salt(&data_key, plaintext, blob_salt);
    assert_eq!(open(&data_key, &sealed).unwrap(), plaintext);
    json!({
        "name": name,
        "email_input": "  Ada.Lovelace@Example.org ",
        "email": email,
        "password": password,
        "salt": hex(&salt),
        "argon2id": {"memory_kib": params.memory_kib, "iterations": params.iterations, "parallelism": params.parallelism},
        "auth_key": hex(keys.auth_key.as_bytes()),
        "encryption_key": hex(keys.encryption_key.as_bytes()),
        "server_secret": hex(b"server secret for fake salts"),
        "fake_salt": hex(&fake_salt(b"server secret for fake salts", &email)),
        "account_id": account_id,
        "data_key": hex(data_key.as_bytes()),
        "wrap_nonce": hex(&wrap_nonce),
        "wrapped_data_key": hex(&wrapped),
        "recovery_code_bytes": hex(&pattern::<20>(50)),
        "recovery_code": code.to_text(),
        "recovery_key": hex(code.key().as_bytes()),
        "recovery_verifier": hex(code.verifier().as_bytes()),
        "recovery_verifier_digest": hex(&verifier_digest(&code.verifier())),
        "recovery_nonce": hex(&recovery_nonce),
        "recovery_wrapped_data_key": hex(&recovery_wrapped),
        "blob_salt": hex(&blob_salt),
        "blob_plaintext": hex(plaintext),
        "blob_sealed": hex(&sealed),
        "blob_name": blob_name(&sealed),
    })
}

#[test]
fn this_implementation_reproduces_every_committed_vector() {
    let computed = json!({
        "version": 1,
        "vectors": [
            vector("cheap parameters", KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }),
            vector("the default parameters", KdfParams::DEFAULT),
        ],
    });
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors.json");
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&computed).unwrap() + "\n").unwrap();
    }
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(committed, computed, "crypto/vectors.json no longer matches: every client would break");
}
