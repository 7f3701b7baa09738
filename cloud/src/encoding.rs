//! How bytes travel in the API's JSON: keys, salts and digests in hexadecimal, sealed records in
//! standard base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::ApiError;

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `length` bytes written in hexadecimal as the field `what`.
pub(crate) fn unhex(text: &str, what: &str, length: usize) -> Result<Vec<u8>, ApiError> {
    let bytes: Option<Vec<u8>> = (text.len() == length * 2 && text.is_ascii())
        .then(|| (0..length).map(|index| u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).ok()).collect())
        .flatten();
    bytes.ok_or_else(|| {
        ApiError::invalid(format!("{what} must be {length} bytes in hexadecimal ({} digits)", length * 2))
    })
}

/// A 32-byte key written in hexadecimal as the field `what`.
pub(crate) fn unhex_key(text: &str, what: &str) -> Result<threedgpt_crypto::Key, ApiError> {
    let bytes: [u8; 32] =
        unhex(text, what, 32)?.try_into().map_err(|_| ApiError::internal("unhex gave a wrong length"))?;
    Ok(threedgpt_crypto::Key(bytes))
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Bytes written in standard base64 as the field `what`.
pub(crate) fn unbase64(text: &str, what: &str) -> Result<Vec<u8>, ApiError> {
    STANDARD.decode(text).map_err(|_| ApiError::invalid(format!("{what} must be standard base64")))
}
