//! Results held for their client when they cannot go to the history: a generation without an
//! output path while the history is off (or unavailable). They are kept in memory only — never on
//! disk, never listed — until the client downloads or exports them, deletes them, or a short
//! time-out passes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;

/// How long a held result waits for its client.
pub(crate) const HOLD_FOR: Duration = Duration::from_secs(600);

/// Held results beyond this many bytes push out the oldest.
const MAX_HELD_BYTES: usize = 512 << 20;

/// A generation's asset waiting for its client.
#[derive(Debug, Clone)]
pub(crate) struct HeldResult {
    pub(crate) id: String,
    pub(crate) created_ms: i64,
    pub(crate) source: String,
    pub(crate) record_json: String,
    pub(crate) glb: Arc<Vec<u8>>,
    held_at: Instant,
}

/// The held results, oldest first.
#[derive(Debug)]
pub(crate) struct Held {
    entries: Mutex<VecDeque<HeldResult>>,
    hold_for: Duration,
}

impl Held {
    pub(crate) fn new(hold_for: Duration) -> Held {
        Held { entries: Mutex::new(VecDeque::new()), hold_for }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, VecDeque<HeldResult>> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        entries.retain(|entry| now.duration_since(entry.held_at) < self.hold_for);
        entries
    }

    /// Holds an asset and returns the id its client downloads it by.
    pub(crate) fn hold(&self, source: &str, record_json: String, glb: Vec<u8>) -> String {
        let created_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64);
        // Unguessable, like the history's ids: only the client that made it learns it.
        let id = format!("held-{created_ms:013}-{:016x}", OsRng.next_u64());
        let mut entries = self.entries();
        entries.push_back(HeldResult {
            id: id.clone(),
            created_ms,
            source: source.to_owned(),
            record_json,
            glb: Arc::new(glb),
            held_at: Instant::now(),
        });
        let mut total: usize = entries.iter().map(|entry| entry.glb.len()).sum();
        while total > MAX_HELD_BYTES && entries.len() > 1 {
            if let Some(oldest) = entries.pop_front() {
                tracing::warn!(id = %oldest.id, "dropping a held result nobody downloaded: too many bytes held");
                total -= oldest.glb.len();
            }
        }
        id
    }

    /// The held result with this id, left in place.
    pub(crate) fn get(&self, id: &str) -> Option<HeldResult> {
        self.entries().iter().find(|entry| entry.id == id).cloned()
    }

    /// Removes a held result (it was downloaded, exported or deleted); whether it was there.
    pub(crate) fn remove(&self, id: &str) -> bool {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|entry| entry.id != id);
        entries.len() != before
    }

    /// Drops every held result; returns how many there were.
    pub(crate) fn clear(&self) -> usize {
        let mut entries = self.entries();
        let count = entries.len();
        entries.clear();
        count
    }

    /// Drops the results whose time is up.
    pub(crate) fn prune(&self) {
        drop(self.entries());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_found_until_removed_or_timed_out() {
        let held = Held::new(Duration::from_millis(200));
        let id = held.hold("a.png", "{}".to_owned(), vec![1, 2, 3]);
        assert!(id.starts_with("held-"));
        assert_eq!(held.get(&id).unwrap().glb.as_slice(), &[1, 2, 3]);
        assert!(held.remove(&id) && !held.remove(&id) && held.get(&id).is_none());

        let late = held.hold("b.png", "{}".to_owned(), vec![4]);
        std::thread::sleep(Duration::from_millis(250));
        assert!(held.get(&late).is_none(), "a held result expires");
        assert_eq!(held.clear(), 0);
    }

    #[test]
    fn too_many_bytes_push_out_the_oldest() {
        let held = Held::new(HOLD_FOR);
        let first = held.hold("a.png", String::new(), vec![0; MAX_HELD_BYTES / 2 + 1]);
        let second = held.hold("b.png", String::new(), vec![0; MAX_HELD_BYTES / 2 + 1]);
        assert!(held.get(&first).is_none() && held.get(&second).is_some());
        assert_ne!(first, second);
    }
}
