//! `3dgpt daemon`: the daemon's status, or stop it.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::terminal::{escape, say};
use threedgpt_sdk::ErrorKind;

/// `3dgpt daemon`.
#[derive(Debug, Args)]
pub(crate) struct DaemonArgs {
    #[command(subcommand)]
    command: Option<DaemonCommand>,
    /// Print JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum DaemonCommand {
    /// Whether the daemon runs, and what it reports (the default).
    Status,
    /// Stop the daemon; running jobs are cancelled cleanly.
    Stop,
}

pub(crate) fn run(args: DaemonArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let connected = super::connect(false).await;
        match (args.command.unwrap_or(DaemonCommand::Status), connected) {
            (DaemonCommand::Status, Ok(client)) => {
                let info = client.info().await?;
                if args.json {
                    say!(
                        "{}",
                        serde_json::json!({
                            "running": true, "version": info.version, "api_version": info.api_version,
                            "pid": info.pid, "socket": info.socket_path, "store": info.store_path,
                            "devices": info.devices, "execution_providers": info.execution_providers,
                            "queue_length": info.queue_length, "running_jobs": info.running_jobs,
                            "onnxruntime": info.onnxruntime.as_ref().map(|(path, version)| serde_json::json!({"path": path, "version": version})),
                            "onnxruntime_status": info.onnxruntime_status,
                        })
                    );
                } else {
                    say!(
                        "running (pid {}, version {}, API {})",
                        info.pid,
                        escape(&info.version),
                        escape(&info.api_version)
                    );
                    say!("socket: {}", escape(&info.socket_path.display().to_string()));
                    say!("devices: {}", escape(&info.devices.join(", ")));
                    say!("neural models: {}", escape(&info.onnxruntime_status));
                    if !info.execution_providers.is_empty() {
                        say!("execution providers: {}", escape(&info.execution_providers.join(", ")));
                    }
                    say!("jobs: {} queued, {} running", info.queue_length, info.running_jobs);
                }
                Ok(ExitCode::SUCCESS)
            }
            (_, Err(error)) if is_not_running(&error) => {
                if args.json {
                    say!("{}", serde_json::json!({"running": false}));
                } else {
                    say!("not running");
                }
                Ok(ExitCode::SUCCESS)
            }
            (_, Err(error)) => Err(error),
            (DaemonCommand::Stop, Ok(client)) => {
                client.shutdown().await?;
                // Wait until the daemon is gone, so a following command starts a fresh one: its socket
                // file is removed last thing; a pipe goes when the process does.
                for _ in 0..100 {
                    #[cfg(unix)]
                    let gone = !threedgpt_sdk::paths::socket_path(&threedgpt_sdk::paths::runtime_dir()).exists();
                    #[cfg(windows)]
                    let gone = super::connect(false).await.is_err();
                    if gone {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                if args.json {
                    say!("{}", serde_json::json!({"stopped": true}));
                } else {
                    say!("stopped");
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

fn is_not_running(error: &anyhow::Error) -> bool {
    error.downcast_ref::<threedgpt_sdk::SdkError>().is_some_and(|error| error.kind() == ErrorKind::Unavailable)
}
