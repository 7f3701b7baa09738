//! `3dgpt-cloud`: the self-hostable 3D GPT cloud service — accounts behind an age gate, with
//! keys that never leave the device (docs/crypto.md), end-to-end-encrypted sync storage, tiers and
//! payments, the privacy rights, and the web pages that give a browser all of them (`web`).

mod accounts;
mod age;
mod blobs;
mod clock;
mod config;
mod database;
mod encoding;
mod error;
mod export;
mod extract;
mod limits;
mod mail;
mod network;
mod openapi;
mod payments;
mod server;
mod sessions;
mod settings;
mod sync;
mod telemetry;
mod tls;
mod web;

use clap::{Parser, Subcommand};

/// The 3D GPT cloud service.
#[derive(Debug, Parser)]
#[command(name = "3dgpt-cloud", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (REST/JSON under /v1).
    Serve(server::ServeArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in a service manager's log.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return std::process::ExitCode::from(1);
        }
    };
    let Command::Serve(args) = cli.command;
    match runtime.block_on(server::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(1)
        }
    }
}
