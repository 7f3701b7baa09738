//! Encryption at rest for history blobs: XChaCha20-Poly1305 with a random nonce per blob and the
//! blob's name as associated data, so a blob cannot be swapped for another undetected.

use chacha20poly1305::aead::{Aead, AeadCore, AeadInPlace, KeyInit, OsRng, Payload};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};

/// Marks a file as a 3D GPT encrypted blob, format version 1.
const MAGIC: &[u8; 8] = b"3DGPTB1\0";
const NONCE_BYTES: usize = 24;

/// A 256-bit data key.
#[derive(Clone)]
pub(crate) struct DataKey([u8; 32]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("DataKey(..)")
    }
}

impl DataKey {
    /// A fresh random key.
    pub(crate) fn generate() -> DataKey {
        DataKey(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// A key from exactly 32 bytes.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<DataKey> {
        Some(DataKey(bytes.try_into().ok()?))
    }

    /// The key's bytes, for storing it in the keychain or key file.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A name for content that reveals nothing about it without the key (keyed BLAKE3).
    pub(crate) fn content_name(&self, plaintext: &[u8]) -> String {
        blake3::keyed_hash(&self.subkey("3dgpt blob names v1"), plaintext).to_hex().to_string()
    }

    /// A value that identifies the key without revealing it, kept in the store to notice a
    /// different key.
    pub(crate) fn check_value(&self) -> String {
        blake3::keyed_hash(&self.subkey("3dgpt key check v1"), b"check").to_hex().to_string()
    }

    fn subkey(&self, context: &str) -> [u8; 32] {
        blake3::derive_key(context, &self.0)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Encrypts `plaintext`, bound to `name`.
    pub(crate) fn seal(&self, name: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext =
            self.cipher().encrypt(&nonce, Payload { msg: plaintext, aad: name.as_bytes() }).unwrap_or_default();
        let mut sealed = Vec::with_capacity(MAGIC.len() + NONCE_BYTES + ciphertext.len());
        sealed.extend_from_slice(MAGIC);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts what [`DataKey::seal`] made for `name`; `None` if it was altered, belongs to another
    /// name, or was sealed under another key. (The store uses [`DataKey::open_owned`].)
    #[cfg(test)]
    pub(crate) fn open(&self, name: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let rest = sealed.strip_prefix(MAGIC.as_slice())?;
        if rest.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
        self.cipher().decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: name.as_bytes() }).ok()
    }

    /// Like [`DataKey::open`], decrypting in the buffer it is given: no second copy of a large blob.
    pub(crate) fn open_owned(&self, name: &str, mut sealed: Vec<u8>) -> Option<Vec<u8>> {
        const TAG_BYTES: usize = 16;
        let header = MAGIC.len() + NONCE_BYTES;
        if sealed.len() < header + TAG_BYTES || !sealed.starts_with(MAGIC) {
            return None;
        }
        let nonce = *XNonce::from_slice(&sealed[MAGIC.len()..header]);
        let tag_start = sealed.len() - TAG_BYTES;
        let tag = *Tag::from_slice(&sealed[tag_start..]);
        self.cipher().decrypt_in_place_detached(&nonce, name.as_bytes(), &mut sealed[header..tag_start], &tag).ok()?;
        sealed.truncate(tag_start);
        sealed.drain(..header);
        Some(sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sealing_round_trips_and_hides_the_plaintext(plaintext in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let key = DataKey::generate();
            let sealed = key.seal("name", &plaintext);
            prop_assert_eq!(key.open("name", &sealed), Some(plaintext.clone()));
            prop_assert_eq!(key.open_owned("name", sealed.clone()), Some(plaintext.clone()));
            prop_assert_eq!(key.open_owned("other", sealed.clone()), None);
            if plaintext.len() >= 16 {
                prop_assert!(!sealed.windows(16).any(|window| window == &plaintext[..16]));
            }
            prop_assert_eq!(key.open("other", &sealed), None);
            prop_assert_eq!(DataKey::generate().open("name", &sealed), None);
            let mut altered = sealed.clone();
            let last = altered.len() - 1;
            altered[last] ^= 1;
            prop_assert_eq!(key.open("name", &altered), None);
        }
    }

    #[test]
    fn names_and_check_values_depend_on_the_key() {
        let (a, b) = (DataKey::generate(), DataKey::generate());
        assert_eq!(a.content_name(b"x"), a.content_name(b"x"));
        assert_ne!(a.content_name(b"x"), b.content_name(b"x"));
        assert_ne!(a.check_value(), b.check_value());
        assert!(DataKey::from_bytes(&[0; 31]).is_none());
    }
}
