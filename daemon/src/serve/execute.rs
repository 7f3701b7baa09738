//! A job's execution, apart from the queue that schedules it: the engine run (retried on the CPU
//! when a model's GPU runs out of memory), the export, the history's thumbnail and record.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use threedgpt_engine::{CancelFlag, EngineError, Format, Options, Stage};

use super::budget::Reserved;
use super::events::{Finished, Update};
use super::recorder::Recorder;

/// What a job does: one image through the engine into one output file, or only into the history.
#[derive(Debug)]
pub(crate) struct JobWork {
    /// Who asked: jobs are shared out fairly between clients.
    pub(crate) client: String,
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    /// Pictures from the object's other sides.
    pub(crate) views: Vec<ViewInput>,
    /// The picture is a turnaround sheet.
    pub(crate) sheet: bool,
    /// The pictures' files the client named by path: no file the job writes may replace them.
    pub(crate) input_paths: Vec<PathBuf>,
    pub(crate) options: Options,
    /// Where the asset goes; `None` keeps it in the history only.
    pub(crate) output: Option<PathBuf>,
    pub(crate) format: Format,
    /// The learned models helping the engine, when the client chose one.
    pub(crate) models: JobModels,
    /// Where the job runs, for its `Started` event ("cpu", or with a model's provider).
    pub(crate) device: String,
    /// What finds the object, and what the user should hear about that choice.
    pub(crate) remover: Remover,
    /// It runs a model on the GPU: GPU jobs run one at a time, whatever the CPU workers.
    pub(crate) gpu: bool,
    /// Loads the same models on the CPU, for a job whose GPU runs out of memory.
    pub(crate) cpu_fallback: Option<CpuFallback>,
    /// The job goes on without its client: it is written down, so a daemon that dies before it
    /// ends can tell afterwards.
    pub(crate) detach: bool,
    /// Its bytes' share of the daemon's budget, given back when the work is dropped.
    pub(crate) _reserved: Reserved,
}

/// A picture from another side than the front.
#[derive(Debug)]
pub(crate) struct ViewInput {
    pub(crate) side: threedgpt_engine::Side,
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
}

/// What finds a job's object, as `background` "auto" chose it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Remover {
    /// A segmentation model's name, or "builtin".
    pub(crate) name: String,
    /// Said as a warning when the job starts: why a learned remover is not used.
    pub(crate) warning: Option<String>,
    /// Added to a "no object found" from the built-in removal: how a learned remover would help.
    pub(crate) advice: Option<String>,
}

/// Learned models for one job (loaded once and shared between jobs).
#[derive(Debug, Clone, Default)]
pub(crate) struct JobModels {
    /// Finds the object instead of the built-in background removal.
    pub(crate) segmenter: Option<Arc<dyn threedgpt_engine::Segmenter>>,
    /// Shapes the built-in relief's front.
    pub(crate) depth: Option<Arc<dyn threedgpt_engine::DepthEstimator>>,
    /// Builds the shape and its colours instead of the built-in relief.
    pub(crate) reconstructor: Option<Arc<dyn threedgpt_engine::Reconstructor>>,
}

impl JobModels {
    fn engine(&self) -> threedgpt_engine::Models<'_> {
        threedgpt_engine::Models {
            segmenter: self.segmenter.as_deref(),
            depth: self.depth.as_deref(),
            reconstructor: self.reconstructor.as_deref(),
        }
    }
}

/// Loads a job's models again on the CPU.
pub(crate) struct CpuFallback(pub(crate) Box<dyn Fn() -> Result<JobModels, String> + Send + Sync>);

impl std::fmt::Debug for CpuFallback {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("CpuFallback")
    }
}

/// Whether a model failed because its device ran out of memory.
fn out_of_memory(error: &EngineError) -> bool {
    match error {
        EngineError::Segmentation { reason, .. }
        | EngineError::Depth { reason, .. }
        | EngineError::Reconstruction { reason, .. } => threedgpt_neural::session::is_out_of_memory(reason),
        _ => false,
    }
}

/// Runs one job on the current (blocking) thread: the engine (again on the CPU when a model's GPU
/// runs out of memory), the export, the history's thumbnail and record. `report` hears progress
/// and warnings.
pub(crate) fn execute(
    work: JobWork,
    recorder: &Recorder,
    cancel: &CancelFlag,
    report: &(dyn Fn(Update) + Sync),
) -> Result<Finished, EngineError> {
    let started = Instant::now();
    let last_sent = Mutex::new((Stage::Decode, -1.0f32));
    let progress = |stage: Stage, stage_fraction: f32| {
        let index = Stage::ALL.iter().position(|&candidate| candidate == stage).unwrap_or(0);
        let fraction = ((index as f32 + stage_fraction.clamp(0.0, 1.0)) / Stage::ALL.len() as f32).min(1.0);
        {
            let mut last = last_sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            // Never backwards: a job retried on the CPU reports again once past where it was.
            if fraction < last.1 || (last.0 == stage && fraction - last.1 < 0.01 && stage_fraction < 1.0) {
                return;
            }
            *last = (stage, fraction);
        }
        let elapsed_ms = started.elapsed().as_millis() as f64;
        let eta_ms =
            if fraction > 0.05 { (elapsed_ms / f64::from(fraction) * f64::from(1.0 - fraction)) as u64 } else { 0 };
        report(Update::Progress { stage, stage_fraction, fraction, eta_ms });
    };
    let run = |models: &JobModels| {
        let views: Vec<threedgpt_engine::View<'_>> = work
            .views
            .iter()
            .map(|view| threedgpt_engine::View { side: view.side, name: &view.name, bytes: &view.bytes })
            .collect();
        let generated = if work.sheet {
            threedgpt_engine::generate_sheet(&work.name, &work.bytes, &work.options, models.engine(), &progress, cancel)
        } else {
            threedgpt_engine::generate_views(
                &work.name,
                &work.bytes,
                &views,
                &work.options,
                models.engine(),
                &progress,
                cancel,
            )
        };
        generated.map_err(|error| match (error, &work.remover.advice) {
            (EngineError::NoObject { reason }, Some(advice)) => {
                EngineError::NoObject { reason: format!("{reason}; {advice}") }
            }
            (error, _) => error,
        })
    };
    let mut asset = match (run(&work.models), &work.cpu_fallback) {
        (Err(error), Some(fallback)) if out_of_memory(&error) => {
            let message = "the GPU ran out of memory; this job carries on on the CPU (slower). Close other \
                           programs using the GPU, or choose the CPU for large models"
                .to_owned();
            tracing::warn!(%error, "GPU out of memory; retrying on the CPU");
            report(Update::Warning { message });
            let models = (fallback.0)().map_err(|reason| EngineError::Reconstruction {
                model: "the CPU copy of the model".to_owned(),
                reason,
            })?;
            run(&models)?
        }
        (result, _) => result?,
    };
    // Why the learned remover was not used matters only where the built-in removal ran: a
    // picture with its own transparency needed neither.
    if let Some(message) = &work.remover.warning
        && asset.record.mask == threedgpt_engine::foreground::MaskSource::BackgroundRemoval
    {
        report(Update::Warning { message: message.clone() });
    }
    // The history's thumbnail is drawn from a copy of the asset while the asset is written.
    let thumbnail_source = (work.output.is_some() && recorder.keeps_history()).then(|| asset.clone());
    let write_options = threedgpt_engine::export::WriteOptions::default()
        .with_reproducible(work.options.reproducible)
        .with_protected(work.input_paths.clone());
    let (exported, thumbnail) = std::thread::scope(|scope| {
        let thumbnail = thumbnail_source.as_ref().map(|copy| scope.spawn(move || Recorder::thumbnail(copy)));
        let exported = match &work.output {
            Some(output) => {
                threedgpt_engine::export_asset(&mut asset, output, work.format, &write_options, &progress, cancel).map(
                    |files| {
                        // The history keeps the asset as GLB: when that is what was just
                        // written, keep those very bytes rather than encode the texture and
                        // the buffers a second time.
                        let glb = (work.format == threedgpt_engine::Format::Glb)
                            .then(|| std::fs::read(output).ok())
                            .flatten();
                        (files, glb)
                    },
                )
            }
            None => Ok((Vec::new(), None)),
        };
        let thumbnail = thumbnail.and_then(|drawing| drawing.join().ok()).and_then(Result::ok);
        (exported, thumbnail)
    });
    let (files, written_glb) = exported?;
    let mut warnings = asset.warnings.clone();
    let (generation_id, not_kept) =
        match recorder.record(&work.name, &work.bytes, &asset, written_glb, thumbnail, work.options.reproducible) {
            Ok(id) => (id, None),
            Err(warning) => (None, Some(warning)),
        };
    let generation_id = match generation_id {
        Some(id) => Some(id),
        // No output path and no history (off, unavailable, or it failed to store): hold the
        // asset in memory until its client downloads it.
        None if work.output.is_none() => Some(recorder.hold(&work.name, &asset, work.options.reproducible)?),
        None => None,
    };
    if let Some(warning) = not_kept {
        warnings.push(match work.output {
            Some(_) => warning,
            None => {
                format!("{warning}. The asset is held in memory instead: download or export it within 10 minutes")
            }
        });
    }
    recorder.notify(super::recorder::Notice::Finished { duration_ms: started.elapsed().as_millis() as u64 });
    let record_json = serde_json::to_string(&asset.record).unwrap_or_default();
    let files = files.iter().map(|path| path.display().to_string()).collect();
    Ok(Finished { record_json, files, generation_id, warnings })
}
