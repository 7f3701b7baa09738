//! Sync of the local history with the account, in the background while signed in with sync on
//! (and on `3dgpt sync now`). A round tells the account of deletions made here, uploads the
//! generations it lacks (oldest first), then reads the changes since its cursor: records from
//! other devices are downloaded with their blobs at once (so they open offline, like any other),
//! tombstones delete the local copies. Everything a round still has to do is in the history
//! database (`history::synced`), so a restart or a dropped connection loses nothing; a failed
//! round is retried later and later, and a full quota pauses uploads with the service's reason
//! instead of retrying them forever. With sync or the history off, no round sends anything.
//!
//! Telemetry (off by default) rides on the same thread: anonymous events, without credentials, to
//! the account's service — and no request at all while it is off.

mod transfer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::account::{AccountError, Accounts, CloudError, Session};
use crate::history::{HistoryStore, Outgoing, StoreError};
use crate::serve::recorder::Recorder;
use transfer::Uploaded;

/// The longest wait between rounds after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// How long uploads stay paused after the account's quota refused one (unless asked to sync).
const QUOTA_PAUSE: Duration = Duration::from_secs(60 * 60);
/// The most telemetry events kept for sending (older ones are dropped).
const TELEMETRY_QUEUE: usize = 100;

/// Why a round stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Damaged(String),
    #[error("could not seal for the account: {0}")]
    Crypto(String),
    #[error("internal error: {0}")]
    Bug(&'static str),
}

impl From<CloudError> for SyncError {
    fn from(error: CloudError) -> SyncError {
        SyncError::Account(AccountError::Cloud(error))
    }
}

/// Where sync stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Phase {
    #[default]
    SignedOut,
    /// Sync (or the history) is off: nothing is sent.
    Off,
    Syncing,
    /// Up to date as of the last round.
    Idle,
    /// Uploads wait (the quota is full); downloads and deletions go on.
    Paused,
    /// The service could not be reached; retried later.
    Offline,
    /// The last round failed for another reason.
    Failed,
    /// There is no history to sync (no key).
    Unavailable,
}

impl Phase {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::SignedOut => "signed_out",
            Phase::Off => "off",
            Phase::Syncing => "syncing",
            Phase::Idle => "idle",
            Phase::Paused => "paused",
            Phase::Offline => "offline",
            Phase::Failed => "error",
            Phase::Unavailable => "unavailable",
        }
    }
}

/// What sync reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Report {
    pub(crate) phase: Phase,
    /// For people: why it is off, paused, offline or failed.
    pub(crate) message: String,
    /// When a round last finished (ms since the epoch; 0 for never).
    pub(crate) last_sync_ms: i64,
    pub(crate) pending_uploads: u64,
    pub(crate) pending_deletes: u64,
    /// Since the daemon started.
    pub(crate) uploaded: u64,
    pub(crate) downloaded: u64,
    pub(crate) removed: u64,
}

/// One anonymous telemetry event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TelemetryEvent {
    pub(crate) event: &'static str,
    pub(crate) duration_ms: Option<u64>,
}

/// The daemon's sync with its account.
pub(crate) struct Syncer {
    accounts: Arc<Accounts>,
    recorder: Arc<Recorder>,
    interval: Duration,
    report: Mutex<Report>,
    /// Held for a whole round: one at a time.
    round: Mutex<()>,
    /// Until when uploads wait, and the quota's reason.
    paused_until: Mutex<Option<(Instant, String)>>,
    /// Set to wake the background thread early.
    wake: (Mutex<bool>, Condvar),
    telemetry: Mutex<Vec<TelemetryEvent>>,
    install_id_file: PathBuf,
}

impl Syncer {
    pub(crate) fn new(accounts: Arc<Accounts>, recorder: Arc<Recorder>, data_dir: &Path, interval: Duration) -> Syncer {
        Syncer {
            accounts,
            recorder,
            interval: interval.max(Duration::from_millis(100)),
            report: Mutex::new(Report::default()),
            round: Mutex::new(()),
            paused_until: Mutex::new(None),
            wake: (Mutex::new(false), Condvar::new()),
            telemetry: Mutex::new(Vec::new()),
            install_id_file: data_dir.join("telemetry-id"),
        }
    }

    /// Runs rounds on a thread of their own for the daemon's life.
    pub(crate) fn start(self: &Arc<Self>) {
        let syncer = Arc::clone(self);
        let started = std::thread::Builder::new().name("sync".to_owned()).spawn(move || syncer.run());
        if let Err(error) = started {
            tracing::error!(%error, "could not start the sync thread; sync runs only when asked");
        }
    }

    /// Wakes the background thread (a generation was kept or deleted, a setting changed).
    pub(crate) fn nudge(&self) {
        let (woken, signal) = &self.wake;
        *woken.lock().unwrap_or_else(PoisonError::into_inner) = true;
        signal.notify_one();
    }

    fn run(&self) {
        let mut failures = 0u32;
        loop {
            self.send_telemetry();
            let report = self.sync(false);
            failures = match report.phase {
                Phase::Offline | Phase::Failed => failures.saturating_add(1),
                _ => 0,
            };
            let wait = if failures == 0 {
                self.interval
            } else {
                self.interval.saturating_mul(1 << failures.min(10)).min(MAX_BACKOFF.max(self.interval))
            };
            let (woken, signal) = &self.wake;
            let guard = woken.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut guard, _) =
                signal.wait_timeout_while(guard, wait, |woken| !*woken).unwrap_or_else(PoisonError::into_inner);
            *guard = false;
        }
    }

    /// The last report, with the queue's size now.
    pub(crate) fn status(&self) -> Report {
        let mut report = self.report.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(store) = &self.recorder.store
            && let Ok((uploads, deletes)) = store.pending_counts()
        {
            (report.pending_uploads, report.pending_deletes) = (uploads, deletes);
        }
        report
    }

    /// Runs one round now (waiting for one in progress first) and reports. `asked`: a person
    /// asked, so uploads paused by the quota are tried again.
    pub(crate) fn sync(&self, asked: bool) -> Report {
        let _one = self.round.lock().unwrap_or_else(PoisonError::into_inner);
        self.report.lock().unwrap_or_else(PoisonError::into_inner).phase = Phase::Syncing;
        let mut counts = Counts::default();
        let outcome = self.round(asked, &mut counts);
        let mut report = self.report.lock().unwrap_or_else(PoisonError::into_inner);
        report.uploaded += counts.uploaded;
        report.downloaded += counts.downloaded;
        report.removed += counts.removed;
        let (phase, message) = match outcome {
            Ok(done) => {
                if matches!(done.0, Phase::Idle | Phase::Paused) {
                    report.last_sync_ms = now_ms();
                }
                done
            }
            Err(SyncError::Account(AccountError::Cloud(error @ CloudError::Unreachable { .. }))) => {
                (Phase::Offline, format!("{error}; trying again later"))
            }
            Err(SyncError::Account(AccountError::Unauthenticated(reason))) => (Phase::SignedOut, reason),
            Err(error) => {
                tracing::warn!(%error, "sync round failed");
                (Phase::Failed, error.to_string())
            }
        };
        (report.phase, report.message) = (phase, message);
        drop(report);
        self.status()
    }

    fn round(&self, asked: bool, counts: &mut Counts) -> Result<(Phase, String), SyncError> {
        let Some(store) = self.recorder.store.clone() else {
            return Ok((Phase::Unavailable, format!("history is unavailable: {}", self.recorder.status)));
        };
        let Some(session) = self.accounts.session()? else {
            store.set_keep_local(false);
            return Ok((Phase::SignedOut, "not signed in: generations stay on this device".to_owned()));
        };
        if !self.recorder.settings().history_enabled {
            return Ok((Phase::Off, "the history is off on this device: nothing is kept, so nothing syncs".to_owned()));
        }
        store.sync_with(&session.remembered.account_id)?;
        let settings = self.accounts.settings()?;
        if !settings.is_some_and(|settings| settings.sync) {
            store.set_keep_local(true);
            return Ok((
                Phase::Off,
                "sync is off for this account: generations stay on this device (`3dgpt settings set sync true`)"
                    .to_owned(),
            ));
        }
        store.set_keep_local(false);
        self.send_deletions(&session, &store)?;
        let paused = self.upload(&session, &store, asked, counts)?;
        self.pull(&session, &store, counts)?;
        Ok(match paused {
            Some(reason) => (Phase::Paused, format!("uploads are paused: {reason}")),
            None => (Phase::Idle, String::new()),
        })
    }

    fn send_deletions(&self, session: &Session, store: &HistoryStore) -> Result<(), SyncError> {
        let cloud = &session.cloud;
        for outgoing in store.outgoing()? {
            let sent = match &outgoing {
                Outgoing::Delete(id) => {
                    let path = format!("/v1/records/{id}");
                    self.accounts.call(cloud, |token| cloud.delete(&path, Some(token)))
                }
                Outgoing::DeleteAll => self.accounts.call(cloud, |token| cloud.delete("/v1/records", Some(token))),
            };
            match sent {
                // Not there: deleted already, or never uploaded.
                Ok(_) | Err(AccountError::Cloud(CloudError::Refused { status: 404, .. })) => store.sent(&outgoing)?,
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// Uploads what the account lacks; the quota's refusal when it pauses them.
    fn upload(
        &self,
        session: &Session,
        store: &HistoryStore,
        asked: bool,
        counts: &mut Counts,
    ) -> Result<Option<String>, SyncError> {
        let mut paused = self.paused_until.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((until, reason)) = paused.as_ref()
            && !asked
            && Instant::now() < *until
        {
            return Ok(Some(reason.clone()));
        }
        *paused = None;
        loop {
            let batch = store.pending_uploads(50)?;
            if batch.is_empty() {
                return Ok(None);
            }
            for generation in &batch {
                match transfer::upload(&self.accounts, session, store, generation) {
                    Ok(Uploaded::Stored(seq, refs)) => {
                        if !store.mark_synced(&generation.id, seq, Some(&refs))? {
                            // Deleted here while it went up: delete it there too.
                            store.queue_delete(&generation.id)?;
                            self.send_deletions(session, store)?;
                        }
                        counts.uploaded += 1;
                    }
                    Ok(Uploaded::DeletedThere) => {
                        store.remove_deleted(&generation.id)?;
                        counts.removed += 1;
                    }
                    Err(SyncError::Account(AccountError::Cloud(CloudError::Refused { code, message, .. })))
                        if code == "quota_exceeded" =>
                    {
                        *paused = Some((Instant::now() + QUOTA_PAUSE, message.clone()));
                        return Ok(Some(message));
                    }
                    Err(error) => return Err(error),
                }
            }
        }
    }

    /// Reads the changes since the cursor; a cursor the service no longer honours means a full
    /// reconcile from the start, after which what this device had synced and the list lacks is
    /// deleted here.
    fn pull(&self, session: &Session, store: &HistoryStore, counts: &mut Counts) -> Result<(), SyncError> {
        let cloud = &session.cloud;
        let mut cursor: i64 = store.meta("sync_cursor")?.and_then(|text| text.parse().ok()).unwrap_or(0);
        let mut seen: Option<std::collections::HashSet<String>> = None;
        loop {
            let path = format!("/v1/changes?since={cursor}");
            let page = match self.accounts.call(cloud, |token| cloud.get(&path, Some(token))) {
                Err(AccountError::Cloud(CloudError::Refused { code, .. }))
                    if code == "cursor_expired" && cursor > 0 =>
                {
                    cursor = 0;
                    seen = Some(Default::default());
                    continue;
                }
                result => result?,
            };
            let changes = page.get("changes").and_then(Value::as_array).cloned().unwrap_or_default();
            for change in &changes {
                let id = change.get("id").and_then(Value::as_str).unwrap_or_default();
                let deleted = change.get("deleted").and_then(Value::as_bool).unwrap_or(false);
                if deleted {
                    if store.remove_deleted(id)? {
                        counts.removed += 1;
                    }
                    continue;
                }
                if let Some(seen) = seen.as_mut() {
                    seen.insert(id.to_owned());
                }
                if store.has(id)? {
                    // One of ours (or one already here): the account holds it.
                    store.mark_synced(id, change.get("seq").and_then(Value::as_i64).unwrap_or(0), None)?;
                } else if transfer::download(&self.accounts, session, store, change)? {
                    counts.downloaded += 1;
                }
            }
            cursor = page.get("cursor").and_then(Value::as_i64).unwrap_or(cursor);
            store.set_meta("sync_cursor", &cursor.to_string())?;
            if !page.get("more").and_then(Value::as_bool).unwrap_or(false) {
                break;
            }
        }
        if let Some(seen) = seen {
            for id in store.synced_ids()? {
                if !seen.contains(&id) && store.remove_deleted(&id)? {
                    counts.removed += 1;
                }
            }
        }
        Ok(())
    }

    /// Downloads again the files of generation `id`, removed from this device only.
    pub(crate) fn restore(&self, id: &str) -> Result<crate::history::Generation, SyncError> {
        let store = self.recorder.store.clone().ok_or(SyncError::Bug("no history"))?;
        let session = self.accounts.session()?.ok_or_else(|| {
            AccountError::Unauthenticated(format!(
                "{id}'s files are not on this device: sign in to the account to download them again"
            ))
        })?;
        transfer::restore(&self.accounts, &session, &store, id)?
            .ok_or_else(|| SyncError::Damaged(format!("{id} was deleted meanwhile")))
    }

    /// Queues an anonymous event when telemetry is on (and drops it at once when off).
    pub(crate) fn record_event(&self, event: TelemetryEvent) {
        if !self.telemetry_on() {
            return;
        }
        let mut queue = self.telemetry.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.len() >= TELEMETRY_QUEUE {
            queue.remove(0);
        }
        queue.push(event);
        drop(queue);
        self.nudge();
    }

    /// Telemetry follows the account's setting when signed in, this device's otherwise.
    fn telemetry_on(&self) -> bool {
        match self.accounts.remembered() {
            Some(remembered) => remembered.settings.is_some_and(|settings| settings.telemetry),
            None => self.recorder.settings().telemetry,
        }
    }

    fn send_telemetry(&self) {
        let events = std::mem::take(&mut *self.telemetry.lock().unwrap_or_else(PoisonError::into_inner));
        if events.is_empty() || !self.telemetry_on() {
            return;
        }
        // Events go to the account's service; signed out there is none to send them to.
        let Some(remembered) = self.accounts.remembered() else { return };
        let Ok(cloud) = crate::account::Cloud::new(&remembered.server) else { return };
        let Some(install_id) = self.install_id() else { return };
        for event in events {
            let mut body = json!({"install_id": install_id, "event": event.event, "os": std::env::consts::OS});
            if let Some(duration) = event.duration_ms {
                body["duration_ms"] = json!(duration);
            }
            // No credentials: the service refuses telemetry that could be joined to an account.
            if let Err(error) = cloud.post("/v1/telemetry", &body, None) {
                tracing::debug!(%error, "a telemetry event was not sent");
                return;
            }
        }
    }

    /// A random id for this install, unrelated to the account, made on first use.
    fn install_id(&self) -> Option<String> {
        if let Ok(text) = std::fs::read_to_string(&self.install_id_file) {
            let text = text.trim();
            if text.len() == 32 && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                return Some(text.to_owned());
            }
        }
        let key = threedgpt_crypto::Key::random().ok()?;
        let id = hex::encode(&key.as_bytes()[..16]);
        threedgpt_engine::export::write_atomic(&self.install_id_file, id.as_bytes()).ok()?;
        Some(id)
    }
}

#[derive(Default)]
struct Counts {
    uploaded: u64,
    downloaded: u64,
    removed: u64,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as i64)
}
