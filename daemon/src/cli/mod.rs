//! The CLI: every command but `serve` is a client of the daemon through the SDK, like any other
//! (it starts the daemon when none runs). One module per command group, plus the progress display
//! and the terminal's escaping. Nothing here imports the daemon's `serve`, its history store or
//! the engine.

pub(crate) mod account;
pub(crate) mod daemon;
pub(crate) mod generate;
pub(crate) mod history;
pub(crate) mod jobs;
pub(crate) mod models;
pub(crate) mod progress;
pub(crate) mod settings;
pub(crate) mod sync;
pub(crate) mod terminal;

use anyhow::Context;

/// A command line that asks for something impossible (exit code 2, like clap's own errors).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// A small runtime for a client command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("could not start the async runtime")
}

/// Connects to this user's daemon, starting it when `autostart` is set and none runs.
pub(crate) async fn connect(autostart: bool) -> anyhow::Result<threedgpt_sdk::Client> {
    let options = threedgpt_sdk::ConnectOptions::default().with_autostart(autostart);
    let options = match std::env::current_exe() {
        Ok(program) => options.with_daemon_program(program),
        Err(_) => options,
    };
    Ok(threedgpt_sdk::Client::connect(&options).await?)
}
