//! Encryption at rest for history blobs: XChaCha20-Poly1305 over chunks of 1 MiB, each sealed
//! under its own nonce (the blob's random nonce with the chunk's index and a last-chunk flag mixed
//! in) with the blob's name as associated data. A blob cannot be swapped, reordered, truncated or
//! extended undetected, and a large blob can be decrypted and sent chunk by chunk.

use std::io::Read;

use chacha20poly1305::aead::{AeadCore, AeadInPlace, KeyInit, OsRng};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};

/// Marks a file as a 3D GPT encrypted blob, format version 2 (chunked).
const MAGIC: &[u8; 8] = b"3DGPTB2\0";
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
const HEADER_BYTES: usize = MAGIC.len() + NONCE_BYTES;
/// Plaintext bytes per chunk.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

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
        self.seal_chunked(name, plaintext, CHUNK_BYTES)
    }

    fn seal_chunked(&self, name: &str, plaintext: &[u8], chunk_bytes: usize) -> Vec<u8> {
        let base = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let chunks = plaintext.len().div_ceil(chunk_bytes).max(1);
        let mut sealed = Vec::with_capacity(HEADER_BYTES + plaintext.len() + chunks * TAG_BYTES);
        sealed.extend_from_slice(MAGIC);
        sealed.extend_from_slice(&base);
        let cipher = self.cipher();
        for index in 0..chunks {
            let start = sealed.len();
            let piece = plaintext.get(index * chunk_bytes..((index + 1) * chunk_bytes).min(plaintext.len()));
            sealed.extend_from_slice(piece.unwrap_or_default());
            let nonce = chunk_nonce(&base, index, index + 1 == chunks);
            // Encryption with a fresh key-nonce pair cannot fail for inputs this size.
            let tag =
                cipher.encrypt_in_place_detached(&nonce, name.as_bytes(), &mut sealed[start..]).unwrap_or_default();
            sealed.extend_from_slice(&tag);
        }
        sealed
    }

    /// Decrypts a whole blob sealed for `name`; `None` if it was altered, belongs to another name,
    /// was sealed under another key, or was cut short.
    pub(crate) fn open_owned(&self, name: &str, sealed: Vec<u8>) -> Option<Vec<u8>> {
        let length = sealed.len() as u64;
        let mut plaintext = Vec::with_capacity(sealed.len());
        self.open_stream(name, &mut sealed.as_slice(), length, CHUNK_BYTES, |chunk| {
            plaintext.extend_from_slice(&chunk);
            true
        })?;
        Some(plaintext)
    }

    /// Decrypts a blob of `length` bytes from `reader` chunk by chunk, handing each chunk to `sink`
    /// (which returns `false` to stop early). Returns the plaintext size, or `None` as
    /// [`DataKey::open_owned`] does.
    pub(crate) fn open_stream(
        &self,
        name: &str,
        reader: &mut dyn Read,
        length: u64,
        chunk_bytes: usize,
        mut sink: impl FnMut(Vec<u8>) -> bool,
    ) -> Option<u64> {
        let mut header = [0u8; HEADER_BYTES];
        reader.read_exact(&mut header).ok()?;
        if !header.starts_with(MAGIC) {
            return None;
        }
        let base = *XNonce::from_slice(&header[MAGIC.len()..]);
        let body = (length as usize).checked_sub(HEADER_BYTES)?;
        let sealed_chunk = chunk_bytes + TAG_BYTES;
        let chunks = body.div_ceil(sealed_chunk).max(1);
        if body < chunks * TAG_BYTES {
            return None;
        }
        let cipher = self.cipher();
        let mut total = 0u64;
        for index in 0..chunks {
            let size = (body - index * sealed_chunk).min(sealed_chunk);
            let mut buffer = vec![0u8; size];
            reader.read_exact(&mut buffer).ok()?;
            let tag = *Tag::from_slice(&buffer[size - TAG_BYTES..]);
            buffer.truncate(size - TAG_BYTES);
            let nonce = chunk_nonce(&base, index, index + 1 == chunks);
            cipher.decrypt_in_place_detached(&nonce, name.as_bytes(), &mut buffer, &tag).ok()?;
            total += buffer.len() as u64;
            if !sink(buffer) {
                break;
            }
        }
        Some(total)
    }

    /// The plaintext size of a blob of `length` sealed bytes.
    pub(crate) fn plaintext_size(length: u64) -> u64 {
        let body = length.saturating_sub(HEADER_BYTES as u64);
        let chunks = body.div_ceil((CHUNK_BYTES + TAG_BYTES) as u64).max(1);
        body.saturating_sub(chunks * TAG_BYTES as u64)
    }
}

/// The nonce of chunk `index`: the blob's nonce with the index and the last-chunk flag mixed into
/// its final five bytes, so chunks cannot be reordered and a cut-short blob fails.
fn chunk_nonce(base: &XNonce, index: usize, last: bool) -> XNonce {
    let mut nonce = *base;
    for (byte, counter) in nonce[19..23].iter_mut().zip((index as u32).to_be_bytes()) {
        *byte ^= counter;
    }
    nonce[23] ^= u8::from(last);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn open_small(key: &DataKey, name: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let mut plaintext = Vec::new();
        key.open_stream(name, &mut &sealed[..], sealed.len() as u64, 64, |chunk| {
            plaintext.extend_from_slice(&chunk);
            true
        })?;
        Some(plaintext)
    }

    proptest! {
        #[test]
        fn sealing_round_trips_and_hides_the_plaintext(plaintext in proptest::collection::vec(any::<u8>(), 0..600)) {
            let key = DataKey::generate();
            // Small chunks so the cases cross many chunk boundaries.
            let sealed = key.seal_chunked("name", &plaintext, 64);
            prop_assert_eq!(open_small(&key, "name", &sealed), Some(plaintext.clone()));
            if plaintext.len() >= 16 {
                prop_assert!(!sealed.windows(16).any(|window| window == &plaintext[..16]));
            }
            prop_assert_eq!(open_small(&key, "other", &sealed), None);
            prop_assert_eq!(open_small(&DataKey::generate(), "name", &sealed), None);
            let mut altered = sealed.clone();
            let last = altered.len() - 1;
            altered[last] ^= 1;
            prop_assert_eq!(open_small(&key, "name", &altered), None);
            // Cutting whole chunks off the end is noticed too.
            if plaintext.len() > 64 {
                prop_assert_eq!(open_small(&key, "name", &sealed[..HEADER_BYTES + 64 + TAG_BYTES]), None);
            }
            let whole = key.seal("name", &plaintext);
            prop_assert_eq!(DataKey::plaintext_size(whole.len() as u64), plaintext.len() as u64);
            prop_assert_eq!(key.open_owned("name", whole), Some(plaintext.clone()));
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
