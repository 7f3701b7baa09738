//! Keeps the daemon reachable for its owner however many connections others open or leave idle:
//! every listener admits at most a fixed number of connections (well inside the process's file
//! limit), makes room for a newcomer by closing the connection idle the longest (those that never
//! proved who they are first), closes a loopback connection that has not shown the token within a
//! few seconds, and backs off when accepting fails instead of spinning.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How long a loopback TCP connection may stay without a request carrying the right token.
pub(crate) const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(5);

/// File handles kept free for everything that is not a connection (history, models, logs).
const RESERVED_FILES: u64 = 128;

/// Raises the soft limit on open files to the hard one and returns the soft limit now in force.
pub(crate) fn raise_file_limit() -> u64 {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = rustix::process::Rlimit { current: limit.maximum, maximum: limit.maximum };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => limit = getrlimit(Resource::Nofile),
                Err(error) => tracing::warn!(%error, "could not raise the open-file limit"),
            }
        }
        limit.current.unwrap_or(u64::MAX)
    }
    #[cfg(not(unix))]
    {
        // Windows has no such per-process limit on handles that a connection flood could reach.
        1 << 16
    }
}

/// How many connections each listener admits under an open-file limit of `file_limit`: the local
/// endpoint takes half of what is not reserved, loopback TCP a quarter, each between 8 and 4096.
pub(crate) fn connection_caps(file_limit: u64) -> (usize, usize) {
    let spare = file_limit.saturating_sub(RESERVED_FILES);
    let cap = |share: u64| (spare / share).clamp(8, 4096) as usize;
    (cap(2), cap(4))
}

/// Who is on the other end of a connection and whether it has shown that it may talk to the
/// daemon. Tonic puts it into every request's extensions.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionInfo {
    /// "pid 123" on the local endpoint, "tcp 127.0.0.1:5000" on loopback TCP: jobs are shared out
    /// fairly between these.
    pub(crate) peer: String,
    slot: Arc<Slot>,
}

impl ConnectionInfo {
    /// Marks the connection as one of the owner's (it sent the right token).
    pub(crate) fn authenticate(&self) {
        self.slot.authenticated.store(true, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Slot {
    id: u64,
    authenticated: AtomicBool,
    /// Milliseconds since the limiter started, at the last byte read or written.
    last_active_ms: AtomicU64,
    evicted: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Slot {
    fn evict(&self) {
        self.evicted.store(true, Ordering::Relaxed);
        if let Some(waker) = self.waker.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            waker.wake();
        }
    }
}

/// The admission policy of one listener.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    inner: Arc<LimiterInner>,
}

#[derive(Debug)]
struct LimiterInner {
    listener: &'static str,
    cap: usize,
    handshake: Option<Duration>,
    started: Instant,
    next_id: AtomicU64,
    live: Mutex<Vec<Arc<Slot>>>,
    refusals: Mutex<RateLimitedLog>,
}

impl Limiter {
    /// A listener admitting at most `cap` connections; with `handshake`, a connection that has not
    /// authenticated within it is closed.
    pub(crate) fn new(listener: &'static str, cap: usize, handshake: Option<Duration>) -> Limiter {
        Limiter {
            inner: Arc::new(LimiterInner {
                listener,
                cap: cap.max(1),
                handshake,
                started: Instant::now(),
                next_id: AtomicU64::new(0),
                live: Mutex::new(Vec::new()),
                refusals: Mutex::new(RateLimitedLog::new(Duration::from_secs(10))),
            }),
        }
    }

    /// Admits a connection, closing the longest-idle one first when the listener is full
    /// (unauthenticated ones before any other). `None` when every admitted connection was active
    /// within the last second: then the newcomer is the one turned away.
    pub(crate) fn admit<S>(&self, stream: S, peer: String, authenticated: bool) -> Option<Guarded<S>> {
        let inner = &self.inner;
        let now_ms = inner.started.elapsed().as_millis() as u64;
        let slot = Arc::new(Slot {
            id: inner.next_id.fetch_add(1, Ordering::Relaxed),
            authenticated: AtomicBool::new(authenticated),
            last_active_ms: AtomicU64::new(now_ms),
            evicted: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        {
            let mut live = inner.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            live.retain(|slot| !slot.evicted.load(Ordering::Relaxed));
            if live.len() >= inner.cap {
                let victim = live
                    .iter()
                    .enumerate()
                    .filter(|(_, slot)| now_ms.saturating_sub(slot.last_active_ms.load(Ordering::Relaxed)) >= 1000)
                    .min_by_key(|(_, slot)| {
                        (slot.authenticated.load(Ordering::Relaxed), slot.last_active_ms.load(Ordering::Relaxed))
                    })
                    .map(|(index, _)| index);
                let refused = victim.is_none();
                inner.refusals.lock().unwrap_or_else(std::sync::PoisonError::into_inner).note(|suppressed| {
                    tracing::warn!(
                        listener = inner.listener,
                        cap = inner.cap,
                        suppressed,
                        "connection limit reached; {}",
                        if refused { "refusing a new connection" } else { "closing the longest-idle connection" }
                    );
                });
                match victim {
                    Some(index) => live.swap_remove(index).evict(),
                    None => return None,
                }
            }
            live.push(slot.clone());
        }
        let watchdog: Option<Pin<Box<dyn Future<Output = ()> + Send>>> = match inner.handshake {
            Some(deadline) if !authenticated => Some(Box::pin(tokio::time::sleep(deadline))),
            _ => None,
        };
        Some(Guarded { stream, info: ConnectionInfo { peer, slot }, limiter: self.inner.clone(), watchdog })
    }

    /// Connections admitted and still open.
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        let live = self.inner.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        live.iter().filter(|slot| !slot.evicted.load(Ordering::Relaxed)).count()
    }
}

/// An admitted connection: reading or writing fails once it is evicted, or once its handshake
/// deadline passes without authentication.
pub(crate) struct Guarded<S> {
    stream: S,
    info: ConnectionInfo,
    limiter: Arc<LimiterInner>,
    watchdog: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<S> Guarded<S> {
    fn check(&mut self, context: &mut Context<'_>) -> io::Result<()> {
        let slot = &self.info.slot;
        {
            let mut waker = slot.waker.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !waker.as_ref().is_some_and(|known| known.will_wake(context.waker())) {
                *waker = Some(context.waker().clone());
            }
        }
        if slot.evicted.load(Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "closed to make room for a newer connection"));
        }
        if slot.authenticated.load(Ordering::Relaxed) {
            self.watchdog = None;
        } else if let Some(watchdog) = &mut self.watchdog
            && watchdog.as_mut().poll(context).is_ready()
        {
            slot.evict();
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no request with the right token in time"));
        }
        Ok(())
    }

    fn touch(&self) {
        let now_ms = self.limiter.started.elapsed().as_millis() as u64;
        self.info.slot.last_active_ms.store(now_ms, Ordering::Relaxed);
    }
}

impl<S> Drop for Guarded<S> {
    fn drop(&mut self) {
        let id = self.info.slot.id;
        self.limiter.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|slot| slot.id != id);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(self: Pin<&mut Self>, context: &mut Context<'_>, buffer: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(context)?;
        let before = buffer.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(context, buffer);
        if matches!(polled, Poll::Ready(Ok(()))) && buffer.filled().len() > before {
            this.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(self: Pin<&mut Self>, context: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(context)?;
        let polled = Pin::new(&mut this.stream).poll_write(context, data);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            this.touch();
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }
}

impl<S: Send + 'static> tonic::transport::server::Connected for Guarded<S> {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> ConnectionInfo {
        self.info.clone()
    }
}

/// Logs a repeating event at most once per period, with how many were left out in between.
#[derive(Debug)]
pub(crate) struct RateLimitedLog {
    period: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    pub(crate) fn new(period: Duration) -> Self {
        RateLimitedLog { period, last: None, suppressed: 0 }
    }

    /// Calls `log` with the number of events left out since the last line, when a line is due.
    pub(crate) fn note(&mut self, log: impl FnOnce(u64)) {
        let now = Instant::now();
        if self.last.is_some_and(|last| now.duration_since(last) < self.period) {
            self.suppressed += 1;
            return;
        }
        log(self.suppressed);
        self.last = Some(now);
        self.suppressed = 0;
    }
}

/// Waits after a failed accept (out of file handles, say), longer each time up to a second, so a
/// failure that repeats neither spins a core nor floods the log.
#[derive(Debug)]
pub(crate) struct AcceptBackoff {
    delay: Duration,
    log: RateLimitedLog,
}

impl AcceptBackoff {
    pub(crate) fn new() -> Self {
        AcceptBackoff { delay: Duration::ZERO, log: RateLimitedLog::new(Duration::from_secs(10)) }
    }

    pub(crate) fn succeeded(&mut self) {
        self.delay = Duration::ZERO;
    }

    pub(crate) async fn failed(&mut self, listener: &str, error: &io::Error) {
        self.delay = (self.delay * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
        let delay = self.delay;
        self.log.note(|suppressed| {
            tracing::warn!(listener, %error, suppressed, retry_ms = delay.as_millis() as u64, "could not accept a connection");
        });
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_stay_inside_the_file_limit() {
        assert_eq!(connection_caps(256), (64, 32));
        assert_eq!(connection_caps(20_000), (4096, 4096));
        assert_eq!(connection_caps(16), (8, 8));
        let (local, tcp) = connection_caps(1024);
        assert!(local + tcp + RESERVED_FILES as usize <= 1024);
    }

    #[tokio::test]
    async fn a_full_listener_closes_the_longest_idle_unauthenticated_connection_first() {
        let limiter = Limiter::new("test", 2, None);
        let owner = limiter.admit((), "a".to_owned(), true).unwrap();
        let stranger = limiter.admit((), "b".to_owned(), false).unwrap();
        // Everyone was active just now: the newcomer is turned away.
        assert!(limiter.admit((), "c".to_owned(), false).is_none());
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let newcomer = limiter.admit((), "c".to_owned(), true).unwrap();
        assert!(stranger.info.slot.evicted.load(Ordering::Relaxed), "the unauthenticated one goes first");
        assert!(!owner.info.slot.evicted.load(Ordering::Relaxed));
        assert_eq!(limiter.live(), 2);
        drop(newcomer);
        assert_eq!(limiter.live(), 1);
    }
}
