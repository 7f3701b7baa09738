//! The SDK's errors: the daemon could not be reached, or it refused a request with a reason.

use std::path::PathBuf;

/// What kind of failure the daemon reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request or its image was bad.
    InvalidInput,
    /// Something named does not exist (a job, a file).
    NotFound,
    /// The picture holds no usable object.
    NoObject,
    /// The queue is full or the disk is.
    ResourceExhausted,
    /// Not allowed (wrong user, unwritable folder).
    PermissionDenied,
    /// The job was cancelled.
    Cancelled,
    /// The daemon is stopping or unreachable.
    Unavailable,
    /// The request cannot be done as things stand: a GPU asked for but not usable, a model in use
    /// by a job, ONNX Runtime missing.
    Precondition,
    /// Anything else.
    Internal,
}

impl ErrorKind {
    pub(crate) fn from_code(code: tonic::Code) -> ErrorKind {
        match code {
            tonic::Code::InvalidArgument | tonic::Code::OutOfRange => ErrorKind::InvalidInput,
            tonic::Code::NotFound => ErrorKind::NotFound,
            tonic::Code::FailedPrecondition => ErrorKind::Precondition,
            tonic::Code::ResourceExhausted => ErrorKind::ResourceExhausted,
            tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => ErrorKind::PermissionDenied,
            tonic::Code::Cancelled => ErrorKind::Cancelled,
            tonic::Code::Unavailable => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }

    /// The kind a `Failed` event carries; one this SDK does not know is `Internal`.
    pub(crate) fn from_proto(kind: i32) -> ErrorKind {
        use threedgpt_proto::v1::ErrorKind as Wire;
        match Wire::try_from(kind) {
            Ok(Wire::InvalidInput) => ErrorKind::InvalidInput,
            Ok(Wire::NotFound) => ErrorKind::NotFound,
            Ok(Wire::NoObject) => ErrorKind::NoObject,
            Ok(Wire::ResourceExhausted) => ErrorKind::ResourceExhausted,
            Ok(Wire::PermissionDenied) => ErrorKind::PermissionDenied,
            Ok(Wire::Cancelled) => ErrorKind::Cancelled,
            Ok(Wire::Unavailable) => ErrorKind::Unavailable,
            Ok(Wire::Internal | Wire::Unspecified) | Err(_) => ErrorKind::Internal,
        }
    }
}

/// Errors of the SDK.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// No daemon answers and none could be started, or the endpoint is not this user's daemon.
    #[error("could not reach the 3D GPT daemon at {}: {reason}", socket.display())]
    DaemonUnavailable {
        /// The socket tried.
        socket: PathBuf,
        /// Why it failed.
        reason: String,
    },
    /// The endpoint is not this user's daemon (another user's folder, socket or process): nothing
    /// was sent to it.
    #[error("refused to talk to the daemon at {}: {reason}", socket.display())]
    Untrusted {
        /// The socket.
        socket: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The daemon refused or failed a request.
    #[error("{message}")]
    Daemon {
        /// The kind of failure.
        kind: ErrorKind,
        /// The daemon's sentence about it.
        message: String,
    },
    /// The connection broke mid-request.
    #[error("the connection to the daemon broke: {0}; the daemon may have stopped")]
    Disconnected(String),
    /// A local file could not be read.
    #[error("could not read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A local file could not be written.
    #[error("could not write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl SdkError {
    /// The kind of failure, for callers that branch on it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SdkError::DaemonUnavailable { .. } | SdkError::Disconnected(_) => ErrorKind::Unavailable,
            SdkError::Daemon { kind, .. } => *kind,
            SdkError::Untrusted { .. } => ErrorKind::PermissionDenied,
            SdkError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            SdkError::Read { .. } => ErrorKind::InvalidInput,
            SdkError::Write { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
                ErrorKind::ResourceExhausted
            }
            SdkError::Write { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                ErrorKind::PermissionDenied
            }
            SdkError::Write { .. } => ErrorKind::Internal,
        }
    }
}

impl SdkError {
    /// A status from the daemon as an error of the SDK (kept inside the crate: no gRPC type in
    /// the public API).
    pub(crate) fn from_status(status: tonic::Status) -> Self {
        // A status the daemon sent arrives as its code and message only; one made here from a
        // failed connection carries the transport's error as its source.
        if std::error::Error::source(&status).is_some() {
            return SdkError::Disconnected(status.message().to_owned());
        }
        SdkError::Daemon { kind: ErrorKind::from_code(status.code()), message: status.message().to_owned() }
    }
}

/// Shorthand for SDK results.
pub type Result<T, E = SdkError> = std::result::Result<T, E>;
