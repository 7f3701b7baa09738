//! `3dgpt settings`: show or change the daemon's settings.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::terminal::{escape, say};

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
    /// Change a setting: `history|sync|telemetry|training_consent|marketing_email true|false`,
    /// or `segmentation auto|builtin|MODEL` (what `--background auto` uses on a picture without
    /// transparency). Signed in, sync, telemetry, training_consent and marketing_email are the
    /// account's, for every device.
    Set {
        /// The setting's name.
        #[arg(value_parser = ["history", "sync", "telemetry", "training_consent", "marketing_email", "segmentation"])]
        key: String,
        /// Its new value.
        value: String,
    },
}

pub(crate) fn run(args: SettingsArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let client = super::connect(true).await?;
        let settings = match args.command.unwrap_or(SettingsCommand::Show) {
            SettingsCommand::Show => client.settings().await?,
            SettingsCommand::Set { key, value: text } => {
                let (update, value) = if key == "segmentation" {
                    (threedgpt_sdk::SettingsUpdate::segmentation(&text), true)
                } else {
                    let value = match text.to_ascii_lowercase().as_str() {
                        "true" | "yes" | "on" | "1" | "y" => true,
                        "false" | "no" | "off" | "0" | "n" => false,
                        _ => return Err(super::UsageError(format!("{key} takes true or false, not {text:?}")).into()),
                    };
                    let update = threedgpt_sdk::SettingsUpdate::one(&key, value)
                        .ok_or_else(|| super::UsageError(format!("no setting {key:?}")))?;
                    (update, value)
                };
                let settings = client.update_settings(update).await?;
                if key == "history" && !value && !args.json {
                    let kept = client.history(1, None).await.map(|page| page.total).unwrap_or(0);
                    if kept > 0 {
                        say!("History is off: new generations are not kept. {kept} earlier ones still are.");
                        if offer_to_delete(kept)? {
                            let deleted = client.delete_all().await?;
                            say!("Deleted {} generations and their files.", deleted.count);
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
                serde_json::json!({
                    "history": settings.history_enabled, "history_available": settings.history_available,
                    "history_status": settings.history_status, "sync": settings.sync, "telemetry": settings.telemetry,
                    "training_consent": settings.training_consent, "marketing_email": settings.marketing_email,
                    "scope": settings.scope, "segmentation": settings.segmentation,
                })
            );
        } else {
            say!("history\t{}", settings.history_enabled);
            say!("history store\t{}", escape(&settings.history_status));
            let whose = if settings.scope == "account" { "account" } else { "this device" };
            say!("sync\t{}\t({whose})", settings.sync);
            say!("telemetry\t{}\t({whose})", settings.telemetry);
            say!("training_consent\t{}\t({whose})", settings.training_consent);
            say!("marketing_email\t{}\t({whose})", settings.marketing_email);
            say!("segmentation\t{}\t(this device)", escape(&settings.segmentation));
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
