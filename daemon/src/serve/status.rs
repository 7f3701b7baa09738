//! The one place where errors become gRPC statuses: each failure maps to the most precise code, and
//! the message stays the readable sentence that says what to do.

use tonic::{Code, Status};

use super::events::FailureKind;
use super::jobs::SubmitError;
use crate::history::StoreError;
use threedgpt_proto::v1;

/// The status code for a kind of job failure.
pub(crate) fn failure_code(kind: FailureKind) -> Code {
    match kind {
        FailureKind::InvalidInput => Code::InvalidArgument,
        FailureKind::NoObject => Code::FailedPrecondition,
        FailureKind::NotFound => Code::NotFound,
        FailureKind::PermissionDenied => Code::PermissionDenied,
        FailureKind::DiskFull => Code::ResourceExhausted,
        FailureKind::DataLoss => Code::DataLoss,
        FailureKind::DaemonStopped => Code::Aborted,
        FailureKind::Internal => Code::Internal,
    }
}

/// The API's kind of failure: what a client branches on.
fn error_kind(kind: FailureKind) -> v1::ErrorKind {
    match kind {
        FailureKind::InvalidInput => v1::ErrorKind::InvalidInput,
        FailureKind::NoObject => v1::ErrorKind::NoObject,
        FailureKind::NotFound => v1::ErrorKind::NotFound,
        FailureKind::PermissionDenied => v1::ErrorKind::PermissionDenied,
        FailureKind::DiskFull => v1::ErrorKind::ResourceExhausted,
        FailureKind::DaemonStopped => v1::ErrorKind::Unavailable,
        FailureKind::DataLoss | FailureKind::Internal => v1::ErrorKind::Internal,
    }
}

/// A job's failure as the API's `Failed` event: the kind, the code's name (for old clients), and
/// the sentence.
pub(crate) fn failed(kind: FailureKind, message: String) -> v1::Failed {
    v1::Failed { code: failure_code(kind).description().to_owned(), kind: error_kind(kind) as i32, message }
}

/// A refused submission as a status.
pub(crate) fn submit_status(error: &SubmitError) -> Status {
    match error {
        SubmitError::QueueFull(_) => Status::resource_exhausted(error.to_string()),
        SubmitError::ShuttingDown => Status::unavailable(error.to_string()),
    }
}

/// A history store failure as a status.
pub(crate) fn store_status(error: StoreError) -> Status {
    match error {
        StoreError::Damaged(_) | StoreError::KeyMismatch(_) => Status::data_loss(error.to_string()),
        StoreError::NotHere(_) => Status::failed_precondition(error.to_string()),
        StoreError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
            Status::resource_exhausted(error.to_string())
        }
        StoreError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            Status::not_found(error.to_string())
        }
        _ => Status::internal(error.to_string()),
    }
}

/// A request the daemon refused before queueing it.
pub(crate) fn request_status(error: threedgpt_daemon::request::RequestError) -> Status {
    use threedgpt_daemon::request::RequestError;
    match error {
        RequestError::UnknownModel { .. } => Status::not_found(error.to_string()),
        _ => Status::invalid_argument(error.to_string()),
    }
}

/// A model store's failure.
pub(crate) fn model_store_status(error: &threedgpt_neural::StoreError) -> Status {
    use threedgpt_neural::StoreError;
    let message = error.to_string();
    match error {
        StoreError::NotInstalled(_) | StoreError::MissingSource { .. } => Status::not_found(message),
        StoreError::Manifest(_) | StoreError::Checksum { .. } => Status::invalid_argument(message),
        StoreError::Download { .. } => Status::aborted(message),
        StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
            Status::resource_exhausted(message)
        }
        StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
            Status::permission_denied(message)
        }
        _ => Status::internal(message),
    }
}

/// A malformed request.
pub(crate) fn invalid(message: impl Into<String>) -> Status {
    Status::invalid_argument(message)
}

/// A job id nobody knows.
pub(crate) fn unknown_job(id: &str) -> Status {
    Status::not_found(format!(
        "no job {id:?}; it may have ended long ago or belong to a daemon that was restarted (see `3dgpt jobs list`)"
    ))
}

/// A generation id the history does not hold.
pub(crate) fn unknown_generation(id: &str) -> Status {
    Status::not_found(format!("no generation {id:?} in the history (`3dgpt history list` shows them)"))
}

/// An input file the daemon could not read.
pub(crate) fn unreadable(path: &str, error: &std::io::Error) -> Status {
    let code = match error.kind() {
        std::io::ErrorKind::NotFound => Code::NotFound,
        std::io::ErrorKind::PermissionDenied => Code::PermissionDenied,
        _ => Code::InvalidArgument,
    };
    Status::new(code, format!("could not read {path}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use threedgpt_engine::EngineError;

    #[test]
    fn job_failures_map_to_precise_codes() {
        let cases = [
            (EngineError::EmptyInput { name: "a".into() }, Code::InvalidArgument),
            (EngineError::NoObject { reason: "r".into() }, Code::FailedPrecondition),
            (
                EngineError::Write { path: "/x".into(), source: std::io::ErrorKind::StorageFull.into() },
                Code::ResourceExhausted,
            ),
            (EngineError::Write { path: "/x".into(), source: std::io::ErrorKind::NotFound.into() }, Code::NotFound),
        ];
        for (error, code) in cases {
            assert_eq!(failure_code(FailureKind::of(&error)), code, "{error}");
        }
        assert_eq!(submit_status(&SubmitError::QueueFull(3)).code(), Code::ResourceExhausted);
    }
}
