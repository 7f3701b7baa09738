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
/// The option table compiled in: every generate option's default, range or choices, as the
/// daemon of this version checks them (for help texts and checks made before a request is sent;
/// a running daemon's own table is [`Client::options`]).
pub use threedgpt_options as options;
pub use types::{
    Artifact, Background, DaemonInfo, Device, Format, GenerateOptions, GenerateRequest, HistoryEntry, HistoryPage,
    ImageSource, InstalledModel, JobEvent, JobState, JobSummary, ModelInfo, OptionInfo, OptionKind, OptionTable,
    Settings, Stage, UnknownFormat,
};
