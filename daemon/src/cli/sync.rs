//! `3dgpt sync`: where sync with the account stands, or a round now.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use threedgpt_sdk::SyncStatus;

use super::terminal::{escape, say};

/// `3dgpt sync`.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    #[command(subcommand)]
    command: Option<SyncCommand>,
    /// Print JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum SyncCommand {
    /// Where sync stands (the default).
    Status,
    /// Sync now: send what waits, bring what other devices made; waits until the round ends.
    Now,
}

pub(crate) fn run(args: SyncArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let client = super::connect(true).await?;
        let (status, asked) = match args.command.unwrap_or(SyncCommand::Status) {
            SyncCommand::Status => (client.sync_status().await?, false),
            SyncCommand::Now => (client.sync_now().await?, true),
        };
        if args.json {
            say!("{}", status_json(&status));
        } else {
            print_status(&status);
        }
        // A round that was asked for and could not run fails the command (scripts can tell).
        let failed = asked && matches!(status.state.as_str(), "offline" | "error" | "signed_out" | "unavailable");
        Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
    })
}

fn print_status(status: &SyncStatus) {
    let state = match status.state.as_str() {
        "idle" => "up to date",
        "signed_out" => "signed out",
        "paused" => "uploads paused",
        other => other,
    };
    say!("sync\t{state}");
    if !status.message.is_empty() {
        say!("note\t{}", escape(&status.message));
    }
    if status.last_sync_unix_ms > 0 {
        let ago = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |now| (now.as_millis() as i64 - status.last_sync_unix_ms).max(0) / 1000);
        say!("last sync\t{ago} s ago");
    }
    say!("waiting\t{} to upload, {} deletions to send", status.pending_uploads, status.pending_deletes);
    say!(
        "since the daemon started\t{} uploaded, {} downloaded, {} removed",
        status.uploaded,
        status.downloaded,
        status.removed
    );
}

fn status_json(status: &SyncStatus) -> serde_json::Value {
    serde_json::json!({
        "state": status.state,
        "message": status.message,
        "last_sync_unix_ms": status.last_sync_unix_ms,
        "pending_uploads": status.pending_uploads,
        "pending_deletes": status.pending_deletes,
        "uploaded": status.uploaded,
        "downloaded": status.downloaded,
        "removed": status.removed,
    })
}
