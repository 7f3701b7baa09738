//! A submitted job: its events as a Python iterator, cancel, and wait for the result.
//!
//! The event stream sits behind a mutex that is only ever taken with the GIL released, so one
//! thread can iterate the events (a Blender worker thread, say) while another cancels the job or
//! reads its latest event without either waiting on the other for the GIL.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use threedgpt_sdk::{self as sdk, blocking};

use crate::PyHost;
use crate::error::{self, Cancelled};
use crate::types::{Event, Generation};

/// A generation queued or running in the daemon. Iterate `events()` for progress, `wait()` for the
/// result, `cancel()` to stop it. Dropping the last reference to a job that was not submitted with
/// `detach=True` cancels it.
#[pyclass(frozen, module = "threedgpt")]
pub(crate) struct Job {
    inner: blocking::Job,
    /// The newest event handed out, and the terminal one once the job has ended.
    latest: Mutex<Option<Py<Event>>>,
    outcome: Mutex<Option<Py<Event>>>,
}

impl Job {
    /// Reads the stream's first event, which names the job, and wraps the stream.
    pub(crate) fn start(py: Python<'_>, client: sdk::Client, stream: sdk::JobStream) -> PyResult<Job> {
        let inner = blocking::Job::start(&PyHost(py), client, stream)?.map_err(error::to_py)?;
        Ok(Job { inner, latest: Mutex::new(None), outcome: Mutex::new(None) })
    }

    /// The next event, waiting at most until `deadline`.
    fn next_event(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<Next> {
        let event = match self.inner.next(&PyHost(py), deadline)? {
            blocking::Next::Event(event) => event,
            blocking::Next::Ended => return Ok(Next::Ended),
            blocking::Next::TimedOut => return Ok(Next::TimedOut),
        };
        let event = Event::from_sdk(py, event)?;
        let terminal = event.is_terminal();
        let event = Py::new(py, event)?;
        *lock(&self.latest) = Some(event.clone_ref(py));
        if terminal {
            *lock(&self.outcome) = Some(event.clone_ref(py));
        }
        Ok(Next::Event(event))
    }
}

enum Next {
    Event(Py<Event>),
    Ended,
    TimedOut,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (every value kept here is
/// valid whatever was interrupted).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[pymethods]
impl Job {
    /// The job's id (for `Client.watch`, `Client.cancel` and `3dgpt jobs`).
    #[getter]
    pub(crate) fn id(&self) -> &str {
        self.inner.id()
    }

    /// Whether the job has ended (finished, failed or cancelled) as far as events read so far tell.
    #[getter]
    fn done(&self) -> bool {
        lock(&self.outcome).is_some()
    }

    /// The newest event read so far, or None.
    #[getter]
    fn latest(&self, py: Python<'_>) -> Option<Py<Event>> {
        lock(&self.latest).as_ref().map(|event| event.clone_ref(py))
    }

    /// An iterator over the job's events, ending after the finished, failed or cancelled event.
    pub(crate) fn events(slf: Py<Job>) -> Events {
        Events { job: slf }
    }

    /// Asks the daemon to cancel the job; returns False when it had already ended. The job then
    /// ends with a "cancelled" event and `wait()` raises `Cancelled`.
    fn cancel(&self, py: Python<'_>) -> PyResult<bool> {
        self.inner.cancel(&PyHost(py))?.map_err(error::to_py)
    }

    /// Waits for the job to end and returns its `Generation`; raises `Cancelled`, the failure's
    /// exception, or `TimeoutError` after `timeout` seconds (the job keeps running then).
    #[pyo3(signature = (timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<Generation>> {
        let deadline = match timeout {
            Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
                Some(Instant::now() + Duration::from_secs_f64(seconds.min(1e9)))
            }
            Some(_) => return Err(pyo3::exceptions::PyValueError::new_err("timeout must be a number of seconds ≥ 0")),
            None => None,
        };
        loop {
            match self.next_event(py, deadline)? {
                Next::Event(_) => {}
                Next::Ended => break,
                Next::TimedOut => {
                    return Err(PyTimeoutError::new_err(format!(
                        "job {} has not ended after {} s; it is still running: wait again or cancel it",
                        self.id(),
                        timeout.unwrap_or_default()
                    )));
                }
            }
        }
        let outcome = lock(&self.outcome).as_ref().map(|event| event.clone_ref(py));
        let Some(outcome) = outcome else {
            return Err(error::ThreeDGptError::new_err("the job ended without a result"));
        };
        outcome_result(py, self.id(), outcome.get())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        match lock(&self.latest).as_ref() {
            Some(event) => format!(
                "<Job {} latest={}>",
                self.id(),
                event.bind(py).repr().map_or_else(|_| "?".into(), |r| r.to_string())
            ),
            None => format!("<Job {}>", self.id()),
        }
    }
}

/// The result a terminal event stands for.
pub(crate) fn outcome_result(py: Python<'_>, job_id: &str, event: &Event) -> PyResult<Py<Generation>> {
    match event.kind() {
        "finished" => {
            let generation = event
                .generation()
                .map(|generation| generation.clone_ref(py))
                .ok_or_else(|| error::ThreeDGptError::new_err("the job finished without a record"))?;
            // Python's way to say what a caller should know while the result still stands.
            let category = py.get_type::<error::ThreeDGptWarning>();
            for warning in generation.get().warnings() {
                let message = std::ffi::CString::new(warning.replace('\0', " ")).unwrap_or_default();
                PyErr::warn(py, &category, &message, 1)?;
            }
            Ok(generation)
        }
        "cancelled" => Err(Cancelled::new_err(format!("job {job_id} was cancelled"))),
        _ => {
            let kind = event.error_kind().unwrap_or(sdk::ErrorKind::Internal);
            Err(error::exception(kind, event.message().unwrap_or("the job failed").to_owned()))
        }
    }
}

/// The events of a job, as an iterator.
#[pyclass(module = "threedgpt")]
pub(crate) struct Events {
    job: Py<Job>,
}

#[pymethods]
impl Events {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    pub(crate) fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<Event>>> {
        match self.job.get().next_event(py, None)? {
            Next::Event(event) => Ok(Some(event)),
            Next::Ended | Next::TimedOut => Ok(None),
        }
    }
}
