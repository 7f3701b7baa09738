//! What a client command shows while a job runs: a progress bar on a terminal, the job's
//! warnings, and Ctrl-C to cancel it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use threedgpt_sdk::JobEvent;

use super::terminal::escape;

pub(crate) fn progress_bar(input: &Path, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(input.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// A finished job as the CLI reports it.
pub(crate) struct Done {
    pub(crate) record: serde_json::Value,
    pub(crate) files: Vec<PathBuf>,
    pub(crate) warnings: Vec<String>,
    /// The history's id for it, when kept.
    pub(crate) generation_id: Option<String>,
}

/// Prints a finished job's warnings on standard error (they also go into `--json` records).
pub(crate) fn print_warnings(warnings: &[String], bar: &ProgressBar) {
    for warning in warnings {
        let line = format!("warning: {}", escape(warning));
        if bar.is_hidden() { eprintln!("{line}") } else { bar.println(line) }
    }
}

/// Follows one job's events to its end, showing progress; Ctrl-C cancels the job (twice quits).
pub(crate) async fn follow(
    client: &threedgpt_sdk::Client,
    mut events: threedgpt_sdk::JobStream,
    bar: &ProgressBar,
    interrupted: &mut bool,
) -> Result<Done, String> {
    let mut job_id = String::new();
    loop {
        let next = tokio::select! {
            next = events.next() => next,
            _ = tokio::signal::ctrl_c() => {
                if *interrupted {
                    std::process::exit(130);
                }
                *interrupted = true;
                eprintln!("\ncancelling (press Ctrl-C again to quit at once)");
                if !job_id.is_empty() {
                    let _ = client.cancel(&job_id).await;
                }
                continue;
            }
        };
        match next {
            Some(Ok(event)) => {
                job_id = event.job_id().to_owned();
                match event {
                    JobEvent::Queued { position, .. } => bar.set_message(format!("queued, position {position}")),
                    JobEvent::Started { .. } => bar.set_message("started"),
                    JobEvent::Progress { stage, fraction, .. } => {
                        bar.set_position((fraction * 1000.0) as u64);
                        bar.set_message(stage.name());
                    }
                    JobEvent::Finished { record, files, warnings, generation_id, .. } => {
                        return Ok(Done { record, files, warnings, generation_id });
                    }
                    JobEvent::Failed { kind: threedgpt_sdk::ErrorKind::NoObject, message, .. } => {
                        return Err(format!(
                            "{message} (here: pass --mask FILE, or --keep-background to use the whole picture)"
                        ));
                    }
                    JobEvent::Failed { message, .. } => return Err(message),
                    JobEvent::Cancelled { .. } => return Err("generation was cancelled".to_owned()),
                    JobEvent::Warning { message, .. } => print_warnings(&[message], bar),
                    _ => {}
                }
            }
            Some(Err(error)) => return Err(error.to_string()),
            None => return Err("the daemon ended the job without a result; see its log".to_owned()),
        }
    }
}
