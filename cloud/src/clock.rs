//! The service's clock: whole seconds since 1970 in UTC, the unit every timestamp it stores uses.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in seconds since 1970-01-01 UTC.
pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs() as i64)
}
