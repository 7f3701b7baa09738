//! The Python module `threedgpt`: the Rust SDK with Python types. Every call that waits on the
//! daemon releases the GIL and wakes every 100 ms to let Ctrl-C through, so pipelines stay
//! interruptible and Blender's UI stays responsive.

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::prelude::*;

mod client;
mod error;
mod job;
mod types;

/// How often a blocking call comes back to check for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// One runtime per process carries every connection; calls block on it with the GIL released.
fn runtime() -> &'static tokio::runtime::Runtime {
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

/// Runs `future` to completion with the GIL released, coming back every [`SIGNAL_CHECK`] to raise
/// `KeyboardInterrupt` (or whatever a signal handler raises) in the caller. Dropping the future on
/// such an error cancels the request.
fn wait<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut future = pin!(future);
    loop {
        let polled =
            py.detach(|| runtime().block_on(async { tokio::time::timeout(SIGNAL_CHECK, future.as_mut()).await }));
        match polled {
            Ok(output) => return Ok(output),
            Err(_elapsed) => py.check_signals()?,
        }
    }
}

/// The option table this module was built with, in the shape of `Client.options()` (with no
/// installed models): what a panel shows before it has asked a daemon.
#[pyfunction]
fn default_options(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyDict>> {
    types::option_table(py, &threedgpt_sdk::OptionTable::compiled())
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
