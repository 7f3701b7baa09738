//! Arbitrary bytes as the messages of a `Generate` call (each a little-endian u16 length and an
//! encoded `GenerateRequest`) through the daemon's request decoder: every input gets an answer,
//! nothing panics, and what is accepted stays within the picture limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threedgpt_daemon::request::{MAX_IMAGE_BYTES, check_messages, messages_from_bytes};

fuzz_target!(|data: &[u8]| {
    if let Ok(held) = check_messages(messages_from_bytes(data)) {
        assert!(held <= 2 * MAX_IMAGE_BYTES);
    }
});
