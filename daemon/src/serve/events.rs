//! What the queue says about its jobs, in the daemon's own terms. `service.rs` alone turns these
//! into the API's messages (with `status.rs` for failures), so the queue and the job's execution
//! know nothing of gRPC.

use threedgpt_engine::{EngineError, Stage};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobState {
    Queued,
    Running,
    Finished,
    Failed,
    Cancelled,
}

/// What kind of failure ended a job: what clients branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The picture, the mask or an option was bad.
    InvalidInput,
    /// The picture holds no object that could be separated.
    NoObject,
    /// A folder or file named does not exist.
    NotFound,
    /// The output could not be written: not allowed, or a read-only disk.
    PermissionDenied,
    /// The disk (or a quota) is full.
    DiskFull,
    /// A stored asset could not be read back.
    DataLoss,
    /// The daemon stopped before the job finished.
    DaemonStopped,
    /// Anything else: a bug, or a model that failed.
    Internal,
}

impl FailureKind {
    /// The kind of an engine error.
    pub(crate) fn of(error: &EngineError) -> FailureKind {
        match error {
            EngineError::EmptyInput { .. }
            | EngineError::UnsupportedFormat { .. }
            | EngineError::ZeroSized { .. }
            | EngineError::Corrupt { .. }
            | EngineError::Truncated { .. }
            | EngineError::MaskMismatch { .. }
            | EngineError::InvalidOption { .. }
            | EngineError::TooLarge { .. }
            | EngineError::TooManyPixels { .. } => FailureKind::InvalidInput,
            EngineError::NoObject { .. } => FailureKind::NoObject,
            EngineError::Write { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => FailureKind::NotFound,
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                    FailureKind::PermissionDenied
                }
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => FailureKind::DiskFull,
                _ => FailureKind::Internal,
            },
            EngineError::UnreadableAsset { .. } => FailureKind::DataLoss,
            _ => FailureKind::Internal,
        }
    }
}

/// What a finished job hands its clients.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finished {
    /// The generation's record, as JSON.
    pub(crate) record_json: String,
    /// Every file written.
    pub(crate) files: Vec<String>,
    /// Its id in the history (or among the held assets), when it is kept.
    pub(crate) generation_id: Option<String>,
    /// What the user should know about the result.
    pub(crate) warnings: Vec<String>,
}

/// One thing that happened to a job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Update {
    /// Waiting, at this place in the queue (from 1; 0 before it has one).
    Queued {
        position: u32,
    },
    /// Running, here ("cpu", or with the models' providers), with what finds the object (a
    /// segmentation model's name or "builtin").
    Started {
        device: String,
        background: String,
    },
    /// How far it is: in its stage and overall, and the time left (0 while unknown).
    Progress {
        stage: Stage,
        stage_fraction: f32,
        fraction: f32,
        eta_ms: u64,
    },
    /// Something the user should know while it runs (it moved to the CPU, say).
    Warning {
        message: String,
    },
    Finished(Finished),
    Failed {
        kind: FailureKind,
        message: String,
    },
    Cancelled,
}

impl Update {
    /// Whether the job ends with this.
    pub(crate) fn is_terminal(&self) -> bool {
        matches!(self, Update::Finished(_) | Update::Failed { .. } | Update::Cancelled)
    }
}

/// An update about one job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JobEvent {
    pub(crate) job_id: String,
    pub(crate) update: Update,
}

/// A job as `ListJobs` shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JobSummary {
    pub(crate) job_id: String,
    pub(crate) state: JobState,
    /// The picture's name.
    pub(crate) source: String,
    /// Its place in the queue while it waits (from 1), else 0.
    pub(crate) position: u32,
    pub(crate) fraction: f32,
    /// Why it failed, when it did.
    pub(crate) error: String,
}
