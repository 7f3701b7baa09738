//! `3dgpt`: turns pictures into textured 3D assets. `3dgpt serve` is the daemon that does the work
//! for every client of this user; every other command is a client of it, through the SDK, and
//! starts it when none runs.

mod account;
mod cli;
mod history;
mod private;
mod serve;
mod sync;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cli::UsageError;

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
    Generate(Box<cli::generate::GenerateArgs>),
    /// Run the daemon that serves every client of this user (started automatically when needed).
    Serve(serve::ServeArgs),
    /// List, follow or cancel the daemon's jobs.
    Jobs(cli::jobs::JobsArgs),
    /// The daemon's status, or stop it.
    Daemon(cli::daemon::DaemonArgs),
    /// The models the daemon can run: list, install, verify, remove.
    Models(cli::models::ModelsArgs),
    /// Past generations kept by the daemon (encrypted on disk): list, show, export, delete, clear.
    History(cli::history::HistoryArgs),
    /// Show or change settings (`3dgpt settings set history false`).
    Settings(cli::settings::SettingsArgs),
    /// Your 3D GPT account on a cloud service: signup, login, status, logout.
    Account(cli::account::AccountArgs),
    /// Sync with the account: status, or now.
    Sync(cli::sync::SyncArgs),
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
                Command::Generate(args) => cli::generate::run(*args),
                Command::Jobs(args) => cli::jobs::run(args),
                Command::Daemon(args) => cli::daemon::run(args),
                Command::Models(args) => cli::models::run(args),
                Command::History(args) => cli::history::run(args),
                Command::Settings(args) => cli::settings::run(args),
                Command::Account(args) => cli::account::run(args),
                Command::Sync(args) => cli::sync::run(args),
                Command::Serve(_) => unreachable!("handled above"),
            }
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", cli::terminal::escape(&format!("{error:#}")));
            // 2 is for usage errors only (as clap's own); anything that went wrong at run time is 1.
            if error.downcast_ref::<UsageError>().is_some() { ExitCode::from(2) } else { ExitCode::from(1) }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    /// The CLI is a client like any other: it reaches the daemon's work only through the SDK.
    #[test]
    fn the_cli_imports_nothing_of_the_daemon_or_the_engine() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
        let mut read = 0;
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            for forbidden in
                ["crate::serve", "crate::history", "threedgpt_engine", "threedgpt_neural", "threedgpt_proto"]
            {
                assert!(!source.contains(forbidden), "{} uses {forbidden}", path.display());
            }
            read += 1;
        }
        assert!(read >= 8, "the CLI's modules are in {}", folder.display());
    }
}
