//! `3dgpt`: turns pictures into textured 3D assets. For now every command runs the engine in this
//! process; the daemon will take the work over behind the same commands.

mod generate;

use std::process::ExitCode;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Generate(args) => match generate::run(args) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(2)
            }
        },
    }
}
