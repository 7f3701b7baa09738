//! The Rust SDK for the 3D GPT daemon, and the only client of its API: connect (starting the
//! daemon when none runs), generate with a stream of typed events, watch, cancel, list, and ask the
//! daemon about itself. No gRPC type appears in its public API.
#![deny(missing_docs)]

pub mod blocking;
mod client;
mod error;
mod local;
mod types;

pub use client::{Client, ConnectOptions, JobStream, TcpTarget};
pub use error::{ErrorKind, Result, SdkError};
/// The option table compiled in: every generate option's default, range or choices, as the
/// daemon of this version checks them (for help texts and checks made before a request is sent;
/// a running daemon's own table is [`Client::options`]).
pub use threedgpt_options as options;
/// Where things live (the same module the daemon uses).
pub use threedgpt_paths as paths;
pub use types::{
    AccountSession, AccountStatus, Artifact, Background, DaemonInfo, Deleted, Device, Format, GenerateOptions,
    GenerateRequest, HistoryEntry, HistoryPage, ImageSource, InstalledModel, JobEvent, JobState, JobSummary, ModelInfo,
    OptionInfo, OptionKind, OptionTable, Settings, SettingsUpdate, SignUpRequest, Stage, SyncStatus, UnknownFormat,
};

#[cfg(test)]
mod tests {
    /// No gRPC type in the public API: no public item of the SDK names a `tonic` type.
    #[test]
    fn the_public_api_names_no_tonic_type() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            let mut signature = String::new();
            for line in source.lines().map(str::trim) {
                // A public item's signature runs from `pub ` to its body or its end.
                if line.starts_with("pub ") || line.starts_with("pub async ") {
                    signature = line.to_owned();
                } else if !signature.is_empty() {
                    signature.push_str(line);
                }
                if !signature.is_empty() && (line.ends_with('{') || line.ends_with(';') || line.ends_with(',')) {
                    assert!(!signature.contains("tonic"), "{}: {signature}", path.display());
                    signature.clear();
                }
            }
        }
    }
}
