//! The SDK for hosts that block: an interpreter or an editor with its own loop (the Python module,
//! the Godot plugin). One runtime per process carries every connection; a call waits in short
//! slices and comes back to the host between them, so the host can let its other threads run
//! while it waits (Python releases the GIL) and raise an interrupt (Ctrl-C) within a slice; a
//! [`Job`]'s events can be read on one thread while another cancels it.
//!
//! A host differs from another only in its [`Host`]: how it waits and how it checks for
//! interrupts.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::error::ErrorKind;
use crate::{Client, JobEvent, JobStream, SdkError};

/// How long a wait goes before it comes back to the host.
pub const SLICE: Duration = Duration::from_millis(100);

/// What a blocking host provides.
pub trait Host {
    /// The host's error (Python's exception, say).
    type Error;

    /// Runs `wait`, which blocks for up to a [`SLICE`], letting the host's other threads go on
    /// meanwhile (Python releases the GIL here).
    fn unlocked<R: Send>(&self, wait: impl FnOnce() -> R + Send) -> R;

    /// Called between slices: an interrupt the host wants raised now (Ctrl-C), or `Ok`.
    fn check(&self) -> Result<(), Self::Error>;
}

/// The process's runtime for every blocking call.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("threedgpt-io")
            .enable_all()
            .build()
            .expect("a tokio runtime can be built") // Only fails when the OS has no threads left.
    })
}

/// Runs `future` to completion, coming back to `host` every [`SLICE`]; an error from
/// [`Host::check`] ends the wait (dropping the future cancels its request).
pub fn wait<H: Host, F>(host: &H, future: F) -> Result<F::Output, H::Error>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut future = pin!(future);
    loop {
        let polled = host.unlocked(|| runtime().block_on(async { tokio::time::timeout(SLICE, future.as_mut()).await }));
        match polled {
            Ok(output) => return Ok(output),
            Err(_elapsed) => host.check()?,
        }
    }
}

/// What [`Job::next`] found.
#[derive(Debug)]
pub enum Next {
    /// The job's next event.
    Event(JobEvent),
    /// The job has ended: its last event was handed out before.
    Ended,
    /// The deadline passed first; the job goes on.
    TimedOut,
}

/// A job whose events are read as they come; `&self` everywhere, so one thread can read while
/// another cancels. Dropping it (unless it was detached) cancels the job.
pub struct Job {
    client: Client,
    id: String,
    stream: Mutex<JobStream>,
    /// Events read ahead (the first one, read to learn the job's id).
    pending: Mutex<VecDeque<JobEvent>>,
    ended: AtomicBool,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Job").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Job {
    /// Reads the stream's first event, which names the job.
    pub fn start<H: Host>(host: &H, client: Client, mut stream: JobStream) -> Result<Result<Job, SdkError>, H::Error> {
        let first = match wait(host, stream.next())? {
            Some(Ok(event)) => event,
            Some(Err(error)) => return Ok(Err(error)),
            None => {
                return Ok(Err(SdkError::Disconnected(
                    "the daemon ended the job's stream before naming it".to_owned(),
                )));
            }
        };
        Ok(Ok(Job {
            client,
            id: first.job_id().to_owned(),
            stream: Mutex::new(stream),
            pending: Mutex::new(VecDeque::from([first])),
            ended: AtomicBool::new(false),
        }))
    }

    /// The job's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether its last event (finished, failed or cancelled) has been handed out.
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// The next event, waiting at most until `deadline`. A stream that breaks or ends without a
    /// result becomes a `Failed` event of kind [`ErrorKind::Unavailable`] with the reason, so the
    /// job always ends with an event.
    pub fn next<H: Host>(&self, host: &H, deadline: Option<Instant>) -> Result<Next, H::Error> {
        if self.ended() {
            return Ok(Next::Ended);
        }
        let pending = lock(&self.pending).pop_front();
        let event = match pending {
            Some(event) => event,
            None => loop {
                let slice = match deadline {
                    Some(deadline) => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            return Ok(Next::TimedOut);
                        }
                        left.min(SLICE)
                    }
                    None => SLICE,
                };
                let polled = host.unlocked(|| {
                    let mut stream = lock(&self.stream);
                    runtime().block_on(async { tokio::time::timeout(slice, stream.next()).await })
                });
                match polled {
                    Ok(Some(Ok(event))) => {
                        // Events can come faster than the slices time out (progress while a stage
                        // runs): the host checks after each one too.
                        host.check()?;
                        break event;
                    }
                    Ok(Some(Err(error))) => break self.lost(error.to_string()),
                    Ok(None) => {
                        break self.lost(
                            "the daemon closed the job's stream without a result; it may have stopped".to_owned(),
                        );
                    }
                    Err(_elapsed) => host.check()?,
                }
            },
        };
        if event.is_terminal() {
            self.ended.store(true, Ordering::SeqCst);
        }
        Ok(Next::Event(event))
    }

    /// The job's end when its stream broke: unknown here, so a failure with the reason.
    fn lost(&self, message: String) -> JobEvent {
        JobEvent::Failed {
            job_id: self.id.clone(),
            kind: ErrorKind::Unavailable,
            code: "UNAVAILABLE".to_owned(),
            message,
        }
    }

    /// Asks the daemon to cancel the job; `false` when it had already ended.
    pub fn cancel<H: Host>(&self, host: &H) -> Result<Result<bool, SdkError>, H::Error> {
        wait(host, self.client.cancel(&self.id))
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (every value kept here is
/// valid whatever was interrupted).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
