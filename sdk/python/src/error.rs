//! The exception hierarchy: `ThreeDGptError` and one subclass per kind of failure, each carrying the
//! daemon's sentence about what went wrong and what to do.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyUserWarning};
use pyo3::prelude::*;
use threedgpt_sdk::{ErrorKind, SdkError};

create_exception!(threedgpt, ThreeDGptError, PyException, "Base class of every 3D GPT error.");
create_exception!(
    threedgpt,
    DaemonUnavailable,
    ThreeDGptError,
    "The daemon is not running and could not be started, or the connection to it broke."
);
create_exception!(threedgpt, InvalidInput, ThreeDGptError, "The request or its image was bad.");
create_exception!(threedgpt, NoObject, InvalidInput, "The picture holds no object that could be separated.");
create_exception!(threedgpt, NotFound, ThreeDGptError, "A job, generation or file does not exist.");
create_exception!(threedgpt, QueueFull, ThreeDGptError, "The daemon's queue (or its disk) is full; retry later.");
create_exception!(threedgpt, PermissionDenied, ThreeDGptError, "Not allowed: a wrong token or an unwritable folder.");
create_exception!(threedgpt, Cancelled, ThreeDGptError, "The job was cancelled.");
create_exception!(
    threedgpt,
    ThreeDGptWarning,
    PyUserWarning,
    "A generation finished, but something about it should be known (e.g. it could not be kept in the history)."
);

pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("ThreeDGptError", py.get_type::<ThreeDGptError>())?;
    module.add("DaemonUnavailable", py.get_type::<DaemonUnavailable>())?;
    module.add("InvalidInput", py.get_type::<InvalidInput>())?;
    module.add("NoObject", py.get_type::<NoObject>())?;
    module.add("NotFound", py.get_type::<NotFound>())?;
    module.add("QueueFull", py.get_type::<QueueFull>())?;
    module.add("PermissionDenied", py.get_type::<PermissionDenied>())?;
    module.add("Cancelled", py.get_type::<Cancelled>())?;
    module.add("ThreeDGptWarning", py.get_type::<ThreeDGptWarning>())?;
    Ok(())
}

/// The exception for a kind of failure with its message.
pub(crate) fn exception(kind: ErrorKind, message: String) -> PyErr {
    match kind {
        ErrorKind::InvalidInput => InvalidInput::new_err(message),
        ErrorKind::NoObject => NoObject::new_err(message),
        ErrorKind::NotFound => NotFound::new_err(message),
        ErrorKind::ResourceExhausted => QueueFull::new_err(message),
        ErrorKind::PermissionDenied => PermissionDenied::new_err(message),
        ErrorKind::Cancelled => Cancelled::new_err(message),
        ErrorKind::Unavailable => DaemonUnavailable::new_err(message),
        _ => ThreeDGptError::new_err(message),
    }
}

/// An SDK error as its Python exception.
pub(crate) fn to_py(error: SdkError) -> PyErr {
    exception(error.kind(), error.to_string())
}
