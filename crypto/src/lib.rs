//! The account cryptography of 3D GPT, as `docs/crypto.md` specifies it: one implementation for
//! the cloud service's tests and the daemon, and test vectors (`crypto/vectors.json`) that every
//! other implementation (the browser's) must reproduce.
//!
//! The password never leaves the device: argon2id turns it into a master key, from which HKDF
//! derives an *auth key* (sent instead of the password) and an *encryption key* (never sent). The
//! user's random *data key* is stored on the server only wrapped by the encryption key, and a
//! second time by a *recovery code*. Blobs and records are sealed with AES-256-GCM in 1 MiB
//! chunks under a key derived per blob from the data key.
#![deny(missing_docs)]

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The text is not an email address.
    #[error("{0:?} is not an email address: it needs one @ with a name before it and a domain after it")]
    NotAnEmail(String),
    /// Key-derivation parameters below the minimum this client accepts.
    #[error(
        "the server asks for weaker password hashing ({found}) than this client accepts ({minimum}); \
         refusing to derive keys: the server may not be the one you signed up with"
    )]
    WeakParameters {
        /// What was asked for.
        found: KdfParams,
        /// The minimum.
        minimum: KdfParams,
    },
    /// Parameters argon2 refuses (zero or out of range).
    #[error("invalid password-hashing parameters ({0})")]
    InvalidParameters(KdfParams),
    /// A wrapped key, sealed blob or record that does not open with this key: damaged, or
    /// another account's.
    #[error("the data does not open with this key: it is damaged, or not this account's")]
    Unsealable,
    /// A recovery code that is not one.
    #[error("that is not a recovery code: it has 32 letters and digits (dashes and spaces do not matter)")]
    NotARecoveryCode,
    /// The system's random source failed.
    #[error("the system's random number source failed: {0}")]
    Random(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, CryptoError>;

/// The labels of every derivation: fixed forever for version 1 (a new version gets new labels).
mod label {
    pub(crate) const AUTH_KEY: &[u8] = b"3dgpt v1 auth key";
    pub(crate) const ENCRYPTION_KEY: &[u8] = b"3dgpt v1 encryption key";
    pub(crate) const FAKE_SALT: &[u8] = b"3dgpt v1 fake salt\0";
    pub(crate) const DATA_KEY: &[u8] = b"3dgpt v1 data key\0";
    pub(crate) const RECOVERY_KEY: &[u8] = b"3dgpt v1 recovery key";
    pub(crate) const RECOVERY_VERIFIER: &[u8] = b"3dgpt v1 recovery verifier";
    pub(crate) const RECOVERY_WRAP: &[u8] = b"3dgpt v1 recovery\0";
    pub(crate) const BLOB_KEY: &[u8] = b"3dgpt v1 blob key";
    pub(crate) const BLOB_AAD: &[u8] = b"3dgpt v1 blob";
}

/// The normal form of an email address, as accounts are keyed and salts derived: surrounding
/// white space removed and every letter lower-cased (Unicode's lower case). Nothing else is
/// folded (dots and `+tags` stay: mail providers differ).
pub fn normalize_email(text: &str) -> Result<String> {
    let email = text.trim().to_lowercase();
    let Some((local, domain)) = email.split_once('@') else {
        return Err(CryptoError::NotAnEmail(text.to_owned()));
    };
    let well_formed = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.contains('.')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if well_formed { Ok(email) } else { Err(CryptoError::NotAnEmail(text.to_owned())) }
}

/// argon2id's cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl std::fmt::Display for KdfParams {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "argon2id m={} KiB, t={}, p={}", self.memory_kib, self.iterations, self.parallelism)
    }
}

impl KdfParams {
    /// What a new account gets: 64 MiB, 3 passes, 1 lane.
    pub const DEFAULT: KdfParams = KdfParams { memory_kib: 65_536, iterations: 3, parallelism: 1 };
    /// The least a client accepts from a server (OWASP's argon2id minimum: 19 MiB, 2 passes).
    pub const MINIMUM: KdfParams = KdfParams { memory_kib: 19_456, iterations: 2, parallelism: 1 };

    /// These parameters when they are at least `minimum` in memory and passes, else why not.
    pub fn at_least(self, minimum: KdfParams) -> Result<KdfParams> {
        if self.memory_kib >= minimum.memory_kib && self.iterations >= minimum.iterations && self.parallelism >= 1 {
            Ok(self)
        } else {
            Err(CryptoError::WeakParameters { found: self, minimum })
        }
    }
}

/// A 32-byte secret, wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Key(pub [u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Key(…)")
    }
}

impl Key {
    /// A fresh random key (a new account's data key).
    pub fn random() -> Result<Key> {
        Ok(Key(random_bytes()?))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// What a password gives a client: the key it proves itself with and the key it keeps.
#[derive(Debug)]
pub struct PasswordKeys {
    /// Sent to the server instead of the password (the server stores only its argon2id hash).
    pub auth_key: Key,
    /// Wraps the data key; never leaves the device.
    pub encryption_key: Key,
}

/// The keys a password gives for an account's salt and parameters, refusing parameters below
/// `minimum` (clients pass [`KdfParams::MINIMUM`]; tests may pass less).
pub fn password_keys(password: &str, salt: &[u8; 16], params: KdfParams, minimum: KdfParams) -> Result<PasswordKeys> {
    let params = params.at_least(minimum)?;
    let master = master_key(password, salt, params)?;
    Ok(PasswordKeys {
        auth_key: expand(&master.0, None, label::AUTH_KEY),
        encryption_key: expand(&master.0, None, label::ENCRYPTION_KEY),
    })
}

/// What the server stores of an auth key: argon2id of it under the server's own salt and
/// parameters (so a stolen database does not give the auth key either).
pub fn server_hash(auth_key: &Key, salt: &[u8; 16], params: KdfParams) -> Result<Key> {
    argon2id(&auth_key.0, salt, params)
}

/// Whether two secrets are equal, in constant time.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// argon2id (version 0x13) over the password's UTF-8 bytes, 32 bytes out.
fn master_key(password: &str, salt: &[u8; 16], params: KdfParams) -> Result<Key> {
    argon2id(password.as_bytes(), salt, params)
}

/// argon2id (version 0x13) of `input`, 32 bytes out.
fn argon2id(input: &[u8], salt: &[u8; 16], params: KdfParams) -> Result<Key> {
    let argon_params = argon2::Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))
        .map_err(|_| CryptoError::InvalidParameters(params))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon_params);
    let mut out = [0u8; 32];
    argon.hash_password_into(input, salt, &mut out).map_err(|_| CryptoError::InvalidParameters(params))?;
    Ok(Key(out))
}

/// HKDF-SHA256 expand of `ikm` (with `salt`) for `info`, 32 bytes.
fn expand(ikm: &[u8], salt: Option<&[u8]>, info: &[u8]) -> Key {
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::new(salt, ikm).expand(info, &mut out).expect("32 bytes is a valid HKDF-SHA256 length");
    Key(out)
}

/// The salt a server answers for an email it has no account for: HMAC-SHA256 of the normalised
/// email under the server's secret, cut to 16 bytes — the same for every call, and shaped like a
/// real salt, so the pre-login call reveals nothing.
pub fn fake_salt(server_secret: &[u8], normalized_email: &str) -> [u8; 16] {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(server_secret).expect("HMAC takes any key length");
    mac.update(label::FAKE_SALT);
    mac.update(normalized_email.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&digest[..16]);
    salt
}

/// A random 16-byte salt for a new account.
pub fn random_salt() -> Result<[u8; 16]> {
    random_bytes()
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|error| CryptoError::Random(error.to_string()))?;
    Ok(bytes)
}

/// Length of a wrapped key: nonce (12), the key (32), tag (16).
pub const WRAPPED_LEN: usize = 60;

/// The data key wrapped by the encryption key, bound to the account (AES-256-GCM, a fresh nonce;
/// associated data `"3dgpt v1 data key\0" ‖ account id`).
pub fn wrap_data_key(encryption_key: &Key, account_id: &str, data_key: &Key) -> Result<Vec<u8>> {
    wrap_with_nonce(encryption_key, label::DATA_KEY, account_id, data_key, random_bytes()?)
}

/// The data key a wrapped one holds, for this account.
pub fn unwrap_data_key(encryption_key: &Key, account_id: &str, wrapped: &[u8]) -> Result<Key> {
    unwrap(encryption_key, label::DATA_KEY, account_id, wrapped)
}

/// [`wrap_data_key`] with a given nonce: for test vectors only (a nonce must never repeat).
pub fn wrap_data_key_with_nonce(encryption_key: &Key, account_id: &str, data_key: &Key, nonce: [u8; 12]) -> Vec<u8> {
    wrap_with_nonce(encryption_key, label::DATA_KEY, account_id, data_key, nonce)
        .expect("wrapping 32 bytes cannot fail")
}

fn wrap_with_nonce(key: &Key, domain: &[u8], account_id: &str, data_key: &Key, nonce: [u8; 12]) -> Result<Vec<u8>> {
    let aad = [domain, account_id.as_bytes()].concat();
    let cipher = Aes256Gcm::new(key.0.as_slice().into());
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: &data_key.0, aad: &aad })
        .map_err(|_| CryptoError::Unsealable)?;
    Ok([nonce.as_slice(), &sealed].concat())
}

fn unwrap(key: &Key, domain: &[u8], account_id: &str, wrapped: &[u8]) -> Result<Key> {
    if wrapped.len() != WRAPPED_LEN {
        return Err(CryptoError::Unsealable);
    }
    let aad = [domain, account_id.as_bytes()].concat();
    let cipher = Aes256Gcm::new(key.0.as_slice().into());
    let mut opened = cipher
        .decrypt(Nonce::from_slice(&wrapped[..12]), Payload { msg: &wrapped[12..], aad: &aad })
        .map_err(|_| CryptoError::Unsealable)?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&opened);
    opened.zeroize();
    Ok(Key(key))
}

/// Crockford's base-32 alphabet (no I, L, O, U).
const BASE32: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A recovery code: 160 random bits, shown once at sign-up as eight groups of four letters and
/// digits (Crockford base 32). It wraps a second copy of the data key.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct RecoveryCode([u8; 20]);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("RecoveryCode(…)")
    }
}

impl RecoveryCode {
    /// A fresh code.
    pub fn random() -> Result<RecoveryCode> {
        Ok(RecoveryCode(random_bytes()?))
    }

    /// The code's bits (for test vectors).
    pub fn from_bytes(bytes: [u8; 20]) -> RecoveryCode {
        RecoveryCode(bytes)
    }

    /// The code as the user writes it down: `XXXX-XXXX-…` (8 groups).
    pub fn to_text(&self) -> String {
        let mut digits = String::with_capacity(39);
        // 160 bits = 32 digits of 5 bits, most significant first.
        for index in 0..32 {
            let bit = index * 5;
            let mut value = 0u32;
            for offset in 0..5 {
                let position = bit + offset;
                let set = self.0[position / 8] >> (7 - position % 8) & 1;
                value = value << 1 | u32::from(set);
            }
            if index > 0 && index % 4 == 0 {
                digits.push('-');
            }
            digits.push(char::from(BASE32[value as usize]));
        }
        digits
    }

    /// A code the user typed: case, dashes and spaces ignored, and O read as 0, I and L as 1.
    pub fn parse(text: &str) -> Result<RecoveryCode> {
        let mut bits = [0u8; 20];
        let mut count = 0;
        for character in text.chars().filter(|c| *c != '-' && !c.is_whitespace()) {
            let character = match character.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            };
            let value =
                BASE32.iter().position(|&digit| char::from(digit) == character).ok_or(CryptoError::NotARecoveryCode)?;
            if count == 32 {
                return Err(CryptoError::NotARecoveryCode);
            }
            for offset in 0..5 {
                if value >> (4 - offset) & 1 == 1 {
                    let position = count * 5 + offset;
                    bits[position / 8] |= 1 << (7 - position % 8);
                }
            }
            count += 1;
        }
        if count == 32 { Ok(RecoveryCode(bits)) } else { Err(CryptoError::NotARecoveryCode) }
    }

    /// The key that wraps the recovery copy of the data key.
    pub fn key(&self) -> Key {
        expand(&self.0, None, label::RECOVERY_KEY)
    }

    /// What the client sends to prove it holds the code; the server keeps only
    /// [`verifier_digest`] of it.
    pub fn verifier(&self) -> Key {
        expand(&self.0, None, label::RECOVERY_VERIFIER)
    }

    /// The data key wrapped by this code, bound to the account.
    pub fn wrap(&self, account_id: &str, data_key: &Key) -> Result<Vec<u8>> {
        wrap_with_nonce(&self.key(), label::RECOVERY_WRAP, account_id, data_key, random_bytes()?)
    }

    /// [`RecoveryCode::wrap`] with a given nonce: for test vectors only.
    pub fn wrap_with_nonce(&self, account_id: &str, data_key: &Key, nonce: [u8; 12]) -> Vec<u8> {
        wrap_with_nonce(&self.key(), label::RECOVERY_WRAP, account_id, data_key, nonce)
            .expect("wrapping 32 bytes cannot fail")
    }

    /// The data key the recovery copy holds.
    pub fn unwrap(&self, account_id: &str, wrapped: &[u8]) -> Result<Key> {
        unwrap(&self.key(), label::RECOVERY_WRAP, account_id, wrapped)
    }
}

/// What the server stores of a recovery verifier: its SHA-256 (the verifier has 256 bits of
/// entropy, so a plain hash suffices).
pub fn verifier_digest(verifier: &Key) -> [u8; 32] {
    Sha256::digest(verifier.0).into()
}

/// Whether `verifier` is the one whose digest the server stored, in constant time.
pub fn verifier_matches(verifier: &Key, stored_digest: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    stored_digest.len() == 32 && bool::from(verifier_digest(verifier).ct_eq(stored_digest))
}

/// Plaintext bytes per sealed chunk.
pub const CHUNK: usize = 1 << 20;
/// A sealed blob's header: the magic `3GB1` and the blob's 16-byte salt.
const MAGIC: &[u8; 4] = b"3GB1";
const HEADER_LEN: usize = 4 + 16;
const TAG_LEN: usize = 16;

/// Seals a blob (or a record) with the data key: a key of its own from HKDF(data key, a fresh
/// 16-byte salt, `"3dgpt v1 blob key"`), then AES-256-GCM over 1 MiB chunks, chunk *i* under the
/// nonce `0⁷ ‖ i (u32, big-endian) ‖ last (1 on the final chunk, else 0)`, associated data
/// `"3dgpt v1 blob"`. Layout: `3GB1 ‖ salt ‖ chunk₀ ‖ tag₀ ‖ …`; an empty blob is one empty final
/// chunk. Chunks can be opened as they arrive, and none can be dropped, reordered or cut off.
pub fn seal(data_key: &Key, plaintext: &[u8]) -> Result<Vec<u8>> {
    Ok(seal_with_salt(data_key, plaintext, random_bytes()?))
}

/// [`seal`] with a given salt: for test vectors, and for a salt derived from the plaintext where
/// one file must seal to the same bytes every time (the daemon's sync, `docs/crypto.md`).
pub fn seal_with_salt(data_key: &Key, plaintext: &[u8], salt: [u8; 16]) -> Vec<u8> {
    let key = expand(&data_key.0, Some(&salt), label::BLOB_KEY);
    let cipher = Aes256Gcm::new(key.0.as_slice().into());
    let chunks: Vec<&[u8]> = if plaintext.is_empty() { vec![&[]] } else { plaintext.chunks(CHUNK).collect() };
    let mut sealed = Vec::with_capacity(HEADER_LEN + plaintext.len() + chunks.len() * TAG_LEN);
    sealed.extend_from_slice(MAGIC);
    sealed.extend_from_slice(&salt);
    for (index, chunk) in chunks.iter().enumerate() {
        let nonce = chunk_nonce(index as u32, index + 1 == chunks.len());
        let part = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: chunk, aad: label::BLOB_AAD })
            .expect("a chunk of at most 1 MiB can be sealed");
        sealed.extend_from_slice(&part);
    }
    sealed
}

/// The plaintext of a sealed blob.
pub fn open(data_key: &Key, sealed: &[u8]) -> Result<Vec<u8>> {
    if sealed.len() < HEADER_LEN + TAG_LEN || &sealed[..4] != MAGIC {
        return Err(CryptoError::Unsealable);
    }
    let key = expand(&data_key.0, Some(&sealed[4..HEADER_LEN]), label::BLOB_KEY);
    let cipher = Aes256Gcm::new(key.0.as_slice().into());
    let body = &sealed[HEADER_LEN..];
    let parts: Vec<&[u8]> = body.chunks(CHUNK + TAG_LEN).collect();
    let mut plaintext = Vec::with_capacity(body.len());
    for (index, part) in parts.iter().enumerate() {
        let nonce = chunk_nonce(u32::try_from(index).map_err(|_| CryptoError::Unsealable)?, index + 1 == parts.len());
        let opened = cipher
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: part, aad: label::BLOB_AAD })
            .map_err(|_| CryptoError::Unsealable)?;
        plaintext.extend_from_slice(&opened);
    }
    Ok(plaintext)
}

fn chunk_nonce(index: u32, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[7..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

/// A sealed blob's name on the server: the hex SHA-256 of its ciphertext, so the name says
/// nothing about the plaintext (the server cannot test whether a user holds a known picture).
pub fn blob_name(sealed: &[u8]) -> String {
    Sha256::digest(sealed).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parameters cheap enough for unit tests (below the minimum, so passed as their own floor).
    const CHEAP: KdfParams = KdfParams { memory_kib: 256, iterations: 1, parallelism: 1 };

    #[test]
    fn emails_are_trimmed_and_lower_cased_and_malformed_ones_refused() {
        assert_eq!(normalize_email("  Ada.Lovelace+3d@Example.ORG \n").unwrap(), "ada.lovelace+3d@example.org");
        assert_eq!(normalize_email("ÉMILE@exemple.fr").unwrap(), "émile@exemple.fr");
        for bad in ["", "ada", "@example.org", "ada@", "ada@example", "a b@example.org", "a@b@example.org", "a@.org"] {
            assert!(matches!(normalize_email(bad), Err(CryptoError::NotAnEmail(_))), "{bad:?}");
        }
    }

    #[test]
    fn a_hostile_server_cannot_talk_a_client_into_weak_hashing() {
        let salt = [7u8; 16];
        let weak = KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 };
        let error = password_keys("pw", &salt, weak, KdfParams::MINIMUM).unwrap_err();
        assert!(matches!(error, CryptoError::WeakParameters { .. }), "{error}");
        assert!(error.to_string().contains("weaker password hashing"));
        assert!(KdfParams::DEFAULT.at_least(KdfParams::MINIMUM).is_ok());
    }

    #[test]
    fn the_two_keys_differ_and_only_the_right_password_and_account_unwrap_the_data_key() {
        let salt = [1u8; 16];
        let keys = password_keys("correct horse", &salt, CHEAP, CHEAP).unwrap();
        assert_ne!(keys.auth_key, keys.encryption_key);
        let data_key = Key::random().unwrap();
        let wrapped = wrap_data_key(&keys.encryption_key, "acct-1", &data_key).unwrap();
        assert_eq!(wrapped.len(), WRAPPED_LEN);
        assert_eq!(unwrap_data_key(&keys.encryption_key, "acct-1", &wrapped).unwrap(), data_key);
        assert_eq!(unwrap_data_key(&keys.encryption_key, "acct-2", &wrapped), Err(CryptoError::Unsealable));
        let wrong = password_keys("wrong horse", &salt, CHEAP, CHEAP).unwrap();
        assert_eq!(unwrap_data_key(&wrong.encryption_key, "acct-1", &wrapped), Err(CryptoError::Unsealable));
    }

    #[test]
    fn fake_salts_are_stable_per_email_and_secret() {
        let a = fake_salt(b"secret", "ada@example.org");
        assert_eq!(a, fake_salt(b"secret", "ada@example.org"));
        assert_ne!(a, fake_salt(b"secret", "bob@example.org"));
        assert_ne!(a, fake_salt(b"other", "ada@example.org"));
    }

    #[test]
    fn recovery_codes_read_back_as_typed_and_wrap_their_own_copy() {
        let code = RecoveryCode::random().unwrap();
        let text = code.to_text();
        assert_eq!(text.len(), 39);
        assert_eq!(RecoveryCode::parse(&text).unwrap(), code);
        let sloppy = text.to_lowercase().replace('-', " ").replace('0', "o").replace('1', "l");
        assert_eq!(RecoveryCode::parse(&sloppy).unwrap(), code);
        assert_eq!(RecoveryCode::parse(&text[..30]), Err(CryptoError::NotARecoveryCode));
        assert_eq!(RecoveryCode::parse(&format!("{text}0")), Err(CryptoError::NotARecoveryCode));
        assert_eq!(RecoveryCode::parse("UUUU"), Err(CryptoError::NotARecoveryCode));
        let data_key = Key::random().unwrap();
        let wrapped = code.wrap("acct", &data_key).unwrap();
        assert_eq!(code.unwrap("acct", &wrapped).unwrap(), data_key);
        // The recovery copy is not the password copy: a wrap of one domain never opens as the other.
        assert_eq!(unwrap_data_key(&code.key(), "acct", &wrapped), Err(CryptoError::Unsealable));
        let digest = verifier_digest(&code.verifier());
        assert!(verifier_matches(&code.verifier(), &digest));
        assert!(!verifier_matches(&RecoveryCode::random().unwrap().verifier(), &digest));
    }

    #[test]
    fn sealed_blobs_open_whole_and_refuse_any_change() {
        let key = Key::random().unwrap();
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 17] {
            let plaintext: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let sealed = seal(&key, &plaintext).unwrap();
            assert_eq!(open(&key, &sealed).unwrap(), plaintext, "{size}");
            assert_ne!(seal(&key, &plaintext).unwrap(), sealed, "a fresh salt each time");
        }
        let plaintext = vec![5u8; 2 * CHUNK + 3];
        let sealed = seal(&key, &plaintext).unwrap();
        let mut flipped = sealed.clone();
        flipped[HEADER_LEN + 10] ^= 1;
        assert_eq!(open(&key, &flipped), Err(CryptoError::Unsealable));
        // Cut after a whole chunk: the new last chunk was not sealed as the last.
        let cut = &sealed[..HEADER_LEN + CHUNK + TAG_LEN];
        assert_eq!(open(&key, cut), Err(CryptoError::Unsealable));
        assert_eq!(open(&Key::random().unwrap(), &sealed), Err(CryptoError::Unsealable));
        assert_eq!(blob_name(&sealed).len(), 64);
    }
}
