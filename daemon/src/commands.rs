//! The daemon's client commands besides `generate`: `jobs`, `daemon` and `models`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::terminal::{escape, say};
use threedgpt_sdk::{ErrorKind, JobState};

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

/// `3dgpt models`.
#[derive(Debug, Args)]
pub(crate) struct ModelsArgs {
    #[command(subcommand)]
    command: Option<ModelsCommand>,
    /// Print JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// The models and whether they are installed (the default).
    List,
    /// Install a model from its manifest (a .toml file) and its files.
    Install {
        /// The model's manifest file.
        manifest: std::path::PathBuf,
        /// A folder holding the model's files, for a one-file model the file itself, or an
        /// http(s) URL of the file or of a folder; by default the URLs in the manifest. An
        /// interrupted download resumes when the command is run again.
        #[arg(long, value_name = "FILE_FOLDER_OR_URL")]
        from: Option<String>,
    },
    /// Check an installed model's files against the sizes and SHA-256s in its manifest.
    Verify {
        /// The model's name.
        name: String,
    },
    /// Remove an installed model and its files.
    Remove {
        /// The model's name.
        name: String,
    },
}

pub(crate) fn jobs(args: JobsArgs) -> anyhow::Result<ExitCode> {
    crate::runtime()?.block_on(async {
        let client = crate::connect(true).await?;
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
                let bar = crate::generate::progress_bar(std::path::Path::new(&id), !args.json);
                let mut interrupted = false;
                let outcome = crate::generate::follow(&client, events, &bar, &mut interrupted).await;
                bar.finish_and_clear();
                match outcome {
                    Ok(crate::generate::Done { record, files, warnings }) => {
                        crate::generate::print_warnings(&warnings, &bar);
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

pub(crate) fn daemon(args: DaemonArgs) -> anyhow::Result<ExitCode> {
    crate::runtime()?.block_on(async {
        let connected = crate::connect(false).await;
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
                    let gone = crate::connect(false).await.is_err();
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

pub(crate) fn models(args: ModelsArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    let command = args.command.unwrap_or(ModelsCommand::List);
    if !matches!(command, ModelsCommand::List) {
        // Installing, checking and removing are the daemon's: it knows which models jobs hold.
        return crate::runtime()?.block_on(async {
            let client = crate::connect(true).await?;
            match command {
                ModelsCommand::Install { manifest, from } => {
                    let bar = indicatif::ProgressBar::new(0);
                    if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
                    }
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    bar.set_message("installing");
                    let mut report = |done, total| {
                        bar.set_length(total);
                        bar.set_position(done);
                    };
                    let installed = client.install_model(&manifest, from.as_deref(), &mut report).await;
                    bar.finish_and_clear();
                    report_model(json, "installed", &installed?);
                }
                ModelsCommand::Verify { name } => report_model(json, "verified", &client.verify_model(&name).await?),
                ModelsCommand::Remove { name } => {
                    client.remove_model(&name).await?;
                    if json {
                        say!("{}", serde_json::json!({"removed": name}));
                    } else {
                        say!("removed {}", escape(&name));
                    }
                }
                ModelsCommand::List => unreachable!("listed below"),
            }
            Ok(ExitCode::SUCCESS)
        });
    }
    crate::runtime()?.block_on(async {
        let client = crate::connect(true).await?;
        let models = client.models().await?;
        if args.json {
            let rows: Vec<_> = models
                .iter()
                .map(|model| {
                    serde_json::json!({
                        "name": model.name, "kind": model.kind, "installed": model.installed,
                        "size_bytes": model.size_bytes, "provider": model.provider, "description": model.description,
                    })
                })
                .collect();
            say!("{}", serde_json::Value::Array(rows));
        } else {
            for model in models {
                let installed = if model.installed { "installed" } else { "not installed" };
                say!(
                    "{}\t{}\t{}\t{}\t{}",
                    escape(&model.name),
                    escape(&model.kind),
                    installed,
                    escape(&model.provider),
                    escape(&model.description)
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `3dgpt history`.
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    #[command(subcommand)]
    command: Option<HistoryCommand>,
    /// Print JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum HistoryCommand {
    /// Recent generations, newest first (the default).
    List {
        /// How many to show.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One generation's record.
    Show {
        /// The generation id (`3dgpt history list` shows them).
        id: String,
    },
    /// Write a generation's asset to a file, in the format its extension names (.glb, .gltf, .obj,
    /// .stl, .ply).
    Export {
        /// The generation id.
        id: String,
        /// The file to write.
        #[arg(short, long, value_name = "FILE")]
        output: std::path::PathBuf,
    },
    /// Save one of a generation's files: the asset (GLB), the input picture or the thumbnail (PNG).
    Download {
        /// The generation id.
        id: String,
        /// Which file.
        #[arg(long, value_parser = ["asset", "input", "thumbnail"], default_value = "asset")]
        what: String,
        /// The asset's format: glb, stl or ply (glTF and OBJ: use export).
        #[arg(long, value_parser = one_file_format, default_value = "glb")]
        format: threedgpt_sdk::Format,
        /// Where to save it.
        #[arg(short, long, value_name = "FILE")]
        output: std::path::PathBuf,
    },
    /// Delete a generation and its files.
    Delete {
        /// The generation id.
        id: String,
    },
    /// Delete the whole history.
    Clear {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// `3dgpt settings`.
#[derive(Debug, Args)]
pub(crate) struct SettingsArgs {
    #[command(subcommand)]
    command: Option<SettingsCommand>,
    /// Print JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum SettingsCommand {
    /// Every setting (the default).
    Show,
    /// Change a setting: `history true|false`.
    Set {
        /// The setting's name.
        #[arg(value_parser = ["history"])]
        key: String,
        /// Its new value.
        #[arg(action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
        value: bool,
    },
}

pub(crate) fn history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    crate::runtime()?.block_on(async {
        let client = crate::connect(true).await?;
        match args.command.unwrap_or(HistoryCommand::List { limit: 20 }) {
            HistoryCommand::List { limit } => {
                let page = client.history(limit, None).await?;
                if args.json {
                    let rows: Vec<_> = page
                        .entries
                        .iter()
                        .map(|entry| {
                            serde_json::json!({"id": entry.id, "created_unix_ms": entry.created_unix_ms, "source": entry.source, "record": entry.record})
                        })
                        .collect();
                    say!("{}", serde_json::json!({"total": page.total, "generations": rows}));
                } else if page.entries.is_empty() {
                    say!("the history is empty");
                } else {
                    for entry in &page.entries {
                        let faces = entry.record.get("faces").and_then(|faces| faces.as_u64()).unwrap_or(0);
                        say!("{}\t{}\t{faces} faces", escape(&entry.id), escape(&entry.source));
                    }
                    if page.total as usize > page.entries.len() {
                        say!("({} of {}; --limit shows more)", page.entries.len(), page.total);
                    }
                }
            }
            HistoryCommand::Show { id } => {
                let entry = client.history_entry(&id).await?;
                let shown = serde_json::json!({"id": entry.id, "created_unix_ms": entry.created_unix_ms, "source": entry.source, "record": entry.record});
                if args.json {
                    say!("{shown}");
                } else {
                    say!("{}", serde_json::to_string_pretty(&shown)?);
                }
            }
            HistoryCommand::Export { id, output } => {
                let files = client.export(&id, &output).await?;
                for file in files {
                    say!("{}", escape(&file.display().to_string()));
                }
            }
            HistoryCommand::Download { id, what, format, output } => {
                let artifact = match what.as_str() {
                    "input" => threedgpt_sdk::Artifact::Input,
                    "thumbnail" => threedgpt_sdk::Artifact::Thumbnail,
                    _ => threedgpt_sdk::Artifact::Asset,
                };
                let bytes = client.download_as(&id, artifact, format).await?;
                threedgpt_engine::export::write_atomic(&output, &bytes)?;
                say!("{}", output.display());
            }
            HistoryCommand::Delete { id } => {
                let existed = client.delete(&id).await?;
                if !existed {
                    eprintln!("error: no generation {} in the history", escape(&id));
                    return Ok(ExitCode::from(1));
                }
                say!("deleted {}", escape(&id));
            }
            HistoryCommand::Clear { yes } => {
                let total = client.history(1, None).await?.total;
                if !yes && !confirm(&format!("Delete all {total} generations and their files?"))? {
                    say!("nothing deleted");
                    return Ok(ExitCode::SUCCESS);
                }
                let deleted = client.delete_all().await?;
                say!("deleted {deleted} generations");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// A format whose asset is one file (glTF and OBJ come with side files: `history export` writes them).
fn one_file_format(name: &str) -> Result<threedgpt_sdk::Format, String> {
    match name.parse::<threedgpt_sdk::Format>().map_err(|error| error.to_string())? {
        threedgpt_sdk::Format::Gltf | threedgpt_sdk::Format::Obj => {
            Err(format!("{name} comes with side files; use `3dgpt history export ID FILE.{name}`"))
        }
        format => Ok(format),
    }
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(crate::UsageError(format!("{question} Pass --yes to confirm when not on a terminal")).into());
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

pub(crate) fn settings(args: SettingsArgs) -> anyhow::Result<ExitCode> {
    crate::runtime()?.block_on(async {
        let client = crate::connect(true).await?;
        let settings = match args.command.unwrap_or(SettingsCommand::Show) {
            SettingsCommand::Show => client.settings().await?,
            SettingsCommand::Set { value, .. } => {
                let settings = client.set_history_enabled(value).await?;
                if !value && !args.json {
                    let kept = client.history(1, None).await.map(|page| page.total).unwrap_or(0);
                    if kept > 0 {
                        say!("History is off: new generations are not kept. {kept} earlier ones still are.");
                        if offer_to_delete(kept)? {
                            let deleted = client.delete_all().await?;
                            say!("Deleted {deleted} generations and their files.");
                        } else {
                            say!("Delete them any time with `3dgpt history clear`.");
                        }
                    }
                }
                settings
            }
        };
        if args.json {
            say!(
                "{}",
                serde_json::json!({"history": settings.history_enabled, "history_available": settings.history_available, "history_status": settings.history_status})
            );
        } else {
            say!("history\t{}", settings.history_enabled);
            say!("history store\t{}", escape(&settings.history_status));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Asks on the terminal whether to delete what the history holds; `false` when not on a terminal.
fn offer_to_delete(kept: u32) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    print!("Delete those {kept} now? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

fn report_model(json: bool, what: &str, installed: &threedgpt_sdk::InstalledModel) {
    if json {
        say!(
            "{}",
            serde_json::json!({
                what: installed.name, "kind": installed.kind, "size_bytes": installed.size_bytes,
                "folder": installed.folder,
            })
        );
    } else {
        say!(
            "{what} {} ({} model, {} files, {} bytes) in {}",
            escape(&installed.name),
            escape(&installed.kind),
            installed.files,
            installed.size_bytes,
            escape(&installed.folder.display().to_string())
        );
    }
}
