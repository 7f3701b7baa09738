//! Rate limits on the calls that guess at credentials (login, sign-up, recovery): per account
//! and per client address, so that neither one address nor many can try passwords quickly; and
//! on anonymous telemetry, per address. The
//! state is per process (each replica counts on its own, so N replicas allow up to N times the
//! rate), which bounds guessing without shared state on the request path.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// When a limiter has this many keys it forgets the ones whose allowance is whole again.
const KEYS_BEFORE_CLEANUP: usize = 10_000;

/// The limiters of one process.
pub(crate) struct Limits {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    telemetry: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Limits").finish_non_exhaustive()
    }
}

fn quota(burst: u32, one_every: Duration) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(one_every).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)).allow_burst(burst)
}

impl Limits {
    /// Ten tries per account, then one every 30 seconds; fifty per address, then one a second;
    /// telemetry, a hundred events per address, then ten a second.
    pub(crate) fn new() -> Limits {
        Limits {
            per_account: RateLimiter::dashmap(quota(10, Duration::from_secs(30))),
            per_address: RateLimiter::dashmap(quota(50, Duration::from_secs(1))),
            telemetry: RateLimiter::dashmap(quota(100, Duration::from_millis(100))),
            clock: DefaultClock::default(),
        }
    }

    fn refused(&self, wait: Duration, whose: &str) -> ApiError {
        let seconds = wait.as_secs() + 1;
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many attempts {whose}; try again in {seconds} s"),
        )
        .with_retry_after(seconds)
    }

    /// One credential attempt from `address`.
    pub(crate) fn address(&self, address: IpAddr) -> Result<(), ApiError> {
        if self.per_address.len() > KEYS_BEFORE_CLEANUP {
            self.per_address.retain_recent();
        }
        self.per_address
            .check_key(&address)
            .map_err(|not_until| self.refused(not_until.wait_time_from(self.clock.now()), "from this address"))
    }

    /// One telemetry event from `address`.
    pub(crate) fn telemetry(&self, address: IpAddr) -> Result<(), ApiError> {
        if self.telemetry.len() > KEYS_BEFORE_CLEANUP {
            self.telemetry.retain_recent();
        }
        self.telemetry
            .check_key(&address)
            .map_err(|not_until| self.refused(not_until.wait_time_from(self.clock.now()), "from this address"))
    }

    /// One credential attempt on the account of (normalised) `email`, known or not alike.
    pub(crate) fn account(&self, email: &str) -> Result<(), ApiError> {
        if self.per_account.len() > KEYS_BEFORE_CLEANUP {
            self.per_account.retain_recent();
        }
        self.per_account
            .check_key(&email.to_owned())
            .map_err(|not_until| self.refused(not_until.wait_time_from(self.clock.now()), "for this account"))
    }
}
