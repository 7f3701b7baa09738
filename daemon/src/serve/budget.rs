//! A daemon-wide budget for the picture bytes held in memory (uploads under way, and the pictures
//! of queued and running jobs), so clients together cannot make the daemon hold more than it can
//! afford. A request that would go past it is refused with RESOURCE_EXHAUSTED, never queued.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

/// The picture bytes the daemon holds at most at once: two of the largest pictures accepted.
pub(crate) const IMAGE_BUDGET_BYTES: usize = 2 * super::service::MAX_IMAGE_BYTES;

/// Bytes are counted in KiB, so the semaphore's permit count (a `u32` per request) suffices.
const UNIT_BYTES: usize = 1024;

/// The shared budget.
#[derive(Debug, Clone)]
pub(crate) struct ByteBudget {
    permits: Arc<Semaphore>,
    total_bytes: usize,
}

/// Bytes taken from the budget, given back when dropped.
#[derive(Debug, Default)]
pub(crate) struct Reserved {
    permit: Option<OwnedSemaphorePermit>,
}

impl Reserved {
    /// Takes over what `other` holds.
    pub(crate) fn merge(&mut self, other: Reserved) {
        match (&mut self.permit, other.permit) {
            (Some(held), Some(more)) => held.merge(more),
            (held @ None, more) => *held = more,
            (Some(_), None) => {}
        }
    }
}

impl ByteBudget {
    pub(crate) fn new(total_bytes: usize) -> Self {
        ByteBudget { permits: Arc::new(Semaphore::new(total_bytes.div_ceil(UNIT_BYTES))), total_bytes }
    }

    /// Adds `bytes` to what `reserved` holds, or refuses when the budget has no room for them now.
    pub(crate) fn grow(&self, reserved: &mut Reserved, bytes: usize) -> Result<(), Status> {
        let units = u32::try_from(bytes.div_ceil(UNIT_BYTES)).unwrap_or(u32::MAX);
        if units == 0 {
            return Ok(());
        }
        match self.permits.clone().try_acquire_many_owned(units) {
            Ok(permit) => {
                reserved.merge(Reserved { permit: Some(permit) });
                Ok(())
            }
            Err(_) => Err(Status::resource_exhausted(format!(
                "the daemon already holds {} MiB of pictures for other jobs and uploads (its limit is {} MiB); \
                 wait for some of them to finish and try again",
                (self.total_bytes - self.permits.available_permits() * UNIT_BYTES) >> 20,
                self.total_bytes >> 20
            ))),
        }
    }

    /// Bytes free now.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.permits.available_permits() * UNIT_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_grow_until_the_budget_is_spent_and_come_back_when_dropped() {
        let budget = ByteBudget::new(10 << 20);
        let mut first = Reserved::default();
        budget.grow(&mut first, 4 << 20).unwrap();
        budget.grow(&mut first, 4 << 20).unwrap();
        let mut second = Reserved::default();
        let refused = budget.grow(&mut second, 4 << 20).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(refused.message().contains("8 MiB") && refused.message().contains("10 MiB"), "{}", refused.message());
        drop(first);
        assert_eq!(budget.available(), 10 << 20);
        budget.grow(&mut second, 4 << 20).unwrap();
    }
}
