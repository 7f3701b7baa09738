//! The Python module `threedgpt`: the Rust SDK with Python types, over `sdk::blocking` (one
//! runtime per process; every call that waits on the daemon releases the GIL and wakes every
//! 100 ms to let Ctrl-C through, so pipelines stay interruptible and Blender's UI responsive).
//! What is Python's own is the host glue (`PyHost`) and the types.

use std::future::Future;

use pyo3::prelude::*;
use threedgpt_sdk as sdk;

mod client;
mod error;
mod job;
mod types;

/// The Python interpreter as the SDK's blocking host: waits run with the GIL released, and
/// between slices (every 100 ms, and after each event) a pending signal raises its exception
/// (`KeyboardInterrupt` for Ctrl-C).
pub(crate) struct PyHost<'py>(pub(crate) Python<'py>);

impl sdk::blocking::Host for PyHost<'_> {
    type Error = PyErr;

    fn unlocked<R: Send>(&self, wait: impl FnOnce() -> R + Send) -> R {
        self.0.detach(wait)
    }

    fn check(&self) -> PyResult<()> {
        self.0.check_signals()
    }
}

/// Runs `future` to completion with the GIL released, letting Ctrl-C through (see [`PyHost`]).
/// Dropping the future on such an error cancels the request.
fn wait<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    sdk::blocking::wait(&PyHost(py), future)
}

/// The option table this module was built with, in the shape of `Client.options()` (with no
/// installed models): what a panel shows before it has asked a daemon.
#[pyfunction]
fn default_options(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyDict>> {
    types::option_table(py, &sdk::OptionTable::compiled())
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    error::register(module)?;
    types::register(module)?;
    module.add_function(wrap_pyfunction!(default_options, module)?)?;
    module.add_class::<client::Client>()?;
    module.add_class::<job::Job>()?;
    module.add_class::<job::Events>()?;
    Ok(())
}
