//! The Rust SDK for the 3D GPT daemon, and the only client of its API: connect (starting the
//! daemon when none runs), generate with a stream of typed events, watch, cancel, list, and ask the
//! daemon about itself. No gRPC type appears in its public API.
#![deny(missing_docs)]

mod client;
mod error;
mod local;
pub mod paths;
mod types;

pub use client::{Client, ConnectOptions, JobStream, TcpTarget};
pub use error::{ErrorKind, Result, SdkError};
pub use types::{
    Artifact, Background, DaemonInfo, Device, Format, GenerateOptions, GenerateRequest, HistoryEntry, HistoryPage,
    ImageSource, JobEvent, JobState, JobSummary, ModelInfo, Settings, Stage,
};
