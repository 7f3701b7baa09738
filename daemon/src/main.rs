//! `3dgpt`: turns pictures into textured 3D assets. `3dgpt serve` is the daemon that does the work
//! for every client of this user; every other command is a client of it, through the SDK, and
//! starts it when none runs.

mod commands;
mod generate;
mod history;
mod private;
mod serve;
mod terminal;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// 3D GPT: one picture in, a ready-to-use 3D asset out.
#[derive(Debug, Parser)]
#[command(name = "3dgpt", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a textured 3D asset (GLB by default) from one or more images.
    Generate(generate::GenerateArgs),
    /// Run the daemon that serves every client of this user (started automatically when needed).
    Serve(serve::ServeArgs),
    /// List, follow or cancel the daemon's jobs.
    Jobs(commands::JobsArgs),
    /// The daemon's status, or stop it.
    Daemon(commands::DaemonArgs),
    /// The reconstruction models the daemon can run.
    Models(commands::ModelsArgs),
    /// Past generations kept by the daemon (encrypted on disk): list, show, export, delete, clear.
    History(commands::HistoryArgs),
    /// Show or change settings (`3dgpt settings set history false`).
    Settings(commands::SettingsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
        command => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
                )
                .with_writer(std::io::stderr)
                .init();
            match command {
                Command::Generate(args) => generate::run(args),
                Command::Jobs(args) => commands::jobs(args),
                Command::Daemon(args) => commands::daemon(args),
                Command::Models(args) => commands::models(args),
                Command::History(args) => commands::history(args),
                Command::Settings(args) => commands::settings(args),
                Command::Serve(_) => unreachable!("handled above"),
            }
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", terminal::escape(&format!("{error:#}")));
            // 2 is for usage errors only (as clap's own); anything that went wrong at run time is 1.
            if error.downcast_ref::<UsageError>().is_some() { ExitCode::from(2) } else { ExitCode::from(1) }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
