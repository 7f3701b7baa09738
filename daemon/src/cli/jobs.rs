//! `3dgpt jobs`: list, follow or cancel the daemon's jobs.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::terminal::{escape, say};
use threedgpt_sdk::JobState;

/// `3dgpt jobs`.
#[derive(Debug, Args)]
pub(crate) struct JobsArgs {
    #[command(subcommand)]
    command: Option<JobsCommand>,
    /// Print JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Queued, running and recently ended jobs (the default).
    List,
    /// Follow a job's progress to its end.
    Watch {
        /// The job id (`3dgpt jobs list` shows them).
        id: String,
    },
    /// Cancel a queued or running job.
    Cancel {
        /// The job id.
        id: String,
    },
}

pub(crate) fn run(args: JobsArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let client = super::connect(true).await?;
        match args.command.unwrap_or(JobsCommand::List) {
            JobsCommand::List => {
                let jobs = client.list_jobs().await?;
                if args.json {
                    let rows: Vec<_> = jobs
                        .iter()
                        .map(|job| {
                            serde_json::json!({
                                "job_id": job.job_id, "state": job.state.name(), "source": job.source,
                                "position": job.position, "fraction": job.fraction, "error": job.error,
                            })
                        })
                        .collect();
                    say!("{}", serde_json::Value::Array(rows));
                } else if jobs.is_empty() {
                    say!("no jobs");
                } else {
                    for job in &jobs {
                        let detail = match job.state {
                            JobState::Queued => format!("position {}", job.position.unwrap_or(0)),
                            JobState::Running => format!("{:.0}%", job.fraction * 100.0),
                            JobState::Failed => job.error.clone().unwrap_or_default(),
                            _ => String::new(),
                        };
                        say!(
                            "{}\t{}\t{}\t{}",
                            escape(&job.job_id),
                            job.state.name(),
                            escape(&job.source),
                            escape(&detail)
                        );
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            JobsCommand::Watch { id } => {
                let events = client.watch(&id).await?;
                let bar = super::progress::progress_bar(std::path::Path::new(&id), !args.json);
                let mut interrupted = false;
                let outcome = super::progress::follow(&client, events, &bar, &mut interrupted).await;
                bar.finish_and_clear();
                match outcome {
                    Ok(super::progress::Done { record, files, warnings, .. }) => {
                        super::progress::print_warnings(&warnings, &bar);
                        if args.json {
                            say!(
                                "{}",
                                serde_json::json!({"job_id": id, "ok": true, "files": files, "record": record, "warnings": warnings})
                            );
                        } else {
                            for file in files {
                                say!("{}", escape(&file.display().to_string()));
                            }
                        }
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(message) => {
                        if args.json {
                            say!("{}", serde_json::json!({"job_id": id, "ok": false, "error": message}));
                        } else {
                            eprintln!("error: {}: {}", escape(&id), escape(&message));
                        }
                        Ok(ExitCode::from(1))
                    }
                }
            }
            JobsCommand::Cancel { id } => {
                let was_active = client.cancel(&id).await?;
                if args.json {
                    say!("{}", serde_json::json!({"job_id": id, "cancelled": was_active}));
                } else if was_active {
                    say!("cancelled {}", escape(&id));
                } else {
                    say!("{} had already ended", escape(&id));
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
