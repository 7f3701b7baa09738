//! `3dgpt history`: past generations kept by the daemon — list, show, export, download, delete, clear.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::terminal::{escape, say};

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
    /// Delete a generation and its files (signed in: on every device).
    Delete {
        /// The generation id.
        id: String,
        /// Remove only this device's copy of one the account holds (it downloads again on first use).
        #[arg(long = "this-device")]
        this_device: bool,
    },
    /// Delete the whole history.
    Clear {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

pub(crate) fn run(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let client = super::connect(true).await?;
        match args.command.unwrap_or(HistoryCommand::List { limit: 20 }) {
            HistoryCommand::List { limit } => {
                let page = client.history(limit, None).await?;
                if args.json {
                    let rows: Vec<_> = page
                        .entries
                        .iter()
                        .map(|entry| {
                            serde_json::json!({"id": entry.id, "created_unix_ms": entry.created_unix_ms, "source": entry.source, "device": entry.device, "on_this_device": entry.on_this_device, "record": entry.record})
                        })
                        .collect();
                    say!("{}", serde_json::json!({"total": page.total, "generations": rows}));
                } else if page.entries.is_empty() {
                    say!("the history is empty");
                } else {
                    for entry in &page.entries {
                        let faces = entry.record.get("faces").and_then(|faces| faces.as_u64()).unwrap_or(0);
                        let mut device =
                            if entry.device.is_empty() { String::new() } else { format!("\tfrom {}", escape(&entry.device)) };
                        if !entry.on_this_device {
                            device.push_str("\t(on the account only)");
                        }
                        say!("{}\t{}\t{faces} faces{device}", escape(&entry.id), escape(&entry.source));
                    }
                    if page.total as usize > page.entries.len() {
                        say!("({} of {}; --limit shows more)", page.entries.len(), page.total);
                    }
                }
            }
            HistoryCommand::Show { id } => {
                let entry = client.history_entry(&id).await?;
                let shown = serde_json::json!({"id": entry.id, "created_unix_ms": entry.created_unix_ms, "source": entry.source, "device": entry.device, "record": entry.record});
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
                client.download_to(&id, artifact, format, &output).await?;
                say!("{}", output.display());
            }
            HistoryCommand::Delete { id, this_device: true } => {
                client.delete_here(&id).await?;
                say!("removed {} from this device; the account keeps it (it downloads again when opened)", escape(&id));
            }
            HistoryCommand::Delete { id, this_device: false } => {
                let deleted = client.delete(&id).await?;
                if deleted.count == 0 {
                    eprintln!("error: no generation {} in the history", escape(&id));
                    return Ok(ExitCode::from(1));
                }
                if deleted.everywhere {
                    say!("deleted {} here, from the account and from every device signed in to it", escape(&id));
                } else {
                    say!("deleted {}", escape(&id));
                }
            }
            HistoryCommand::Clear { yes } => {
                let total = client.history(1, None).await?.total;
                if !yes && !confirm(&format!("Delete all {total} generations and their files?"))? {
                    say!("nothing deleted");
                    return Ok(ExitCode::SUCCESS);
                }
                let deleted = client.delete_all().await?;
                if deleted.everywhere {
                    say!(
                        "deleted {} generations here, and the account's whole synced history on every device",
                        deleted.count
                    );
                } else {
                    say!("deleted {} generations", deleted.count);
                }
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
        return Err(super::UsageError(format!("{question} Pass --yes to confirm when not on a terminal")).into());
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
