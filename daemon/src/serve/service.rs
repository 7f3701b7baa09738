//! The gRPC services: requests are checked and turned into engine options here, work goes to the
//! job queue, and events stream back. Every handler answers a bad request with a status, never a
//! panic.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use threedgpt_daemon::request::{self, Picture, RequestError, Upload};
use threedgpt_neural::Installed;
use threedgpt_neural::session::Placement;
use threedgpt_options::Role;
use threedgpt_proto::v1::generator_server::Generator;
use threedgpt_proto::v1::models_server::Models;
use threedgpt_proto::v1::system_server::System;
use threedgpt_proto::v1::{self, JobEvent};
use tokio::sync::{Notify, broadcast, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::budget::{ByteBudget, Reserved};
use super::events::{self, JobState, Update};
use super::execute::{CpuFallback, JobModels, JobWork, Remover, ViewInput};
use super::jobs::JobQueue;
use super::neural::Neural;
use super::recorder::Recorder;
use super::status;

pub(crate) use threedgpt_daemon::request::MAX_IMAGE_BYTES;

type EventStream = Pin<Box<dyn Stream<Item = Result<JobEvent, Status>> + Send>>;

/// Shared state of the services.
#[derive(Clone)]
pub(crate) struct Daemon {
    pub(crate) queue: JobQueue,
    /// The picture bytes all requests together may hold.
    pub(crate) budget: ByteBudget,
    /// How long an upload may go without a message.
    pub(crate) upload_idle: std::time::Duration,
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) accounts: Arc<crate::account::Accounts>,
    pub(crate) syncer: Arc<crate::sync::Syncer>,
    pub(crate) neural: Arc<Neural>,
    pub(crate) shutdown: Arc<Notify>,
    pub(crate) socket_path: PathBuf,
    pub(crate) store_path: PathBuf,
}

#[tonic::async_trait]
impl Generator for Daemon {
    type GenerateStream = EventStream;
    type WatchStream = EventStream;

    async fn generate(
        &self,
        request: Request<Streaming<v1::GenerateRequest>>,
    ) -> Result<Response<EventStream>, Status> {
        self.queue.touch();
        let client = client_of(&request);
        let mut incoming = request.into_inner();
        let idle = self.upload_idle;
        let first = next_message(&mut incoming, idle)
            .await?
            .ok_or_else(|| status::invalid("the request stream was empty; send options and an image"))?;
        // Every byte held for this request counts against the daemon-wide budget until its job ends.
        let mut reserved = Reserved::default();
        let (mut upload, held) = Upload::start(first).map_err(status::request_status)?;
        self.budget.grow(&mut reserved, held)?;
        // Further messages: more of the image (when sent as bytes) and of the mask, until the client
        // half-closes. A stalled upload ends with a clear error instead of holding memory forever.
        while let Some(part) = next_message(&mut incoming, idle).await? {
            let added = upload.add(part).map_err(status::request_status)?;
            self.budget.grow(&mut reserved, added)?;
        }
        let Upload { name, picture, options: request_options, output, detach, views, sheet } = upload;
        let mut input_paths = Vec::new();
        let bytes = self.picture_bytes(picture, &mut reserved, &mut input_paths).await?;
        let mut view_inputs = Vec::with_capacity(views.len());
        for view in views {
            let bytes = self.picture_bytes(view.picture, &mut reserved, &mut input_paths).await?;
            view_inputs.push(ViewInput { side: view.side, name: view.name, bytes });
        }
        let device = request::device(&request_options).map_err(status::request_status)?;
        let named = request::named_models(&request_options).map_err(status::request_status)?;
        let (loaded, remover) = self.with_remover(&request_options, named, device).await?;
        let (options, format) = request::engine_options(request_options, output.as_deref().unwrap_or(Path::new("")))
            .map_err(status::request_status)?;
        let client_key = client.clone();
        let (device, gpu, models, cpu_fallback) = match loaded {
            Some(LoadedModels { placements, gpu, models, cpu_fallback }) => {
                (format!("cpu; {placements}"), gpu, models, cpu_fallback)
            }
            None => ("cpu".to_owned(), false, JobModels::default(), None),
        };
        let work = JobWork {
            client,
            name,
            bytes,
            views: view_inputs,
            sheet,
            input_paths,
            options,
            output,
            format,
            models,
            device,
            remover,
            gpu,
            cpu_fallback,
            detach,
            _reserved: reserved,
        };
        let (id, events) = self.queue.submit(work).map_err(|error| status::submit_status(&error))?;
        tracing::info!(job = %id, detach, client = %client_key, "queued");
        Ok(Response::new(forward(self.queue.clone(), id, None, events, !detach)))
    }

    async fn watch(&self, request: Request<v1::WatchRequest>) -> Result<Response<EventStream>, Status> {
        self.queue.touch();
        let id = request.into_inner().job_id;
        let (latest, events) = self.queue.watch(&id).ok_or_else(|| status::unknown_job(&id))?;
        Ok(Response::new(forward(self.queue.clone(), id, Some(latest), events, false)))
    }

    async fn cancel(&self, request: Request<v1::CancelRequest>) -> Result<Response<v1::CancelResponse>, Status> {
        self.queue.touch();
        let id = request.into_inner().job_id;
        let was_active = self.queue.cancel(&id).ok_or_else(|| status::unknown_job(&id))?;
        Ok(Response::new(v1::CancelResponse { was_active }))
    }

    async fn list_jobs(
        &self,
        _request: Request<v1::ListJobsRequest>,
    ) -> Result<Response<v1::ListJobsResponse>, Status> {
        self.queue.touch();
        Ok(Response::new(v1::ListJobsResponse { jobs: self.queue.list().iter().map(wire_summary).collect() }))
    }
}

impl Daemon {
    /// A picture's bytes: as sent, or read from the file it names (counted against the budget, and
    /// the path kept so no file the job writes replaces it).
    async fn picture_bytes(
        &self,
        picture: Picture,
        reserved: &mut Reserved,
        input_paths: &mut Vec<PathBuf>,
    ) -> Result<Vec<u8>, Status> {
        match picture {
            Picture::Bytes(bytes) => Ok(bytes),
            Picture::Path(path) => {
                let (budget, file) = (self.budget.clone(), path.clone());
                let (bytes, held) = tokio::task::spawn_blocking(move || read_image_file(&file, &budget))
                    .await
                    .map_err(|error| Status::internal(error.to_string()))??;
                reserved.merge(held);
                input_paths.push(PathBuf::from(path));
                Ok(bytes)
            }
        }
    }
}

/// The next message of an upload, or `None` once the client has sent everything; an error when
/// nothing arrives for `idle`.
async fn next_message(
    incoming: &mut Streaming<v1::GenerateRequest>,
    idle: std::time::Duration,
) -> Result<Option<v1::GenerateRequest>, Status> {
    match tokio::time::timeout(idle, incoming.message()).await {
        Ok(Ok(message)) => Ok(message),
        Ok(Err(status)) if status.message().contains("message length too large") => Err(status::invalid(format!(
            "a message of the request is larger than the daemon accepts ({}); send the image and the mask in \
             chunks (the SDK does) or by path",
            status.message()
        ))),
        Ok(Err(status)) => Err(status),
        Err(_) => Err(Status::deadline_exceeded(format!(
            "the upload stalled: nothing arrived for {} s; check the connection and try again",
            idle.as_secs()
        ))),
    }
}

/// Reads a picture the client named by path: a regular file of at most [`MAX_IMAGE_BYTES`], its
/// bytes counted against `budget` before they are read. Devices, pipes, folders and oversized
/// (or sparse) files are refused before anything is read.
fn read_image_file(path: &str, budget: &ByteBudget) -> Result<(Vec<u8>, Reserved), Status> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opening a FIFO for reading would wait for a writer; opening without waiting is harmless for
    // the regular files this accepts.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, rustix::fs::OFlags::NONBLOCK.bits() as i32);
    let file = options.open(path).map_err(|error| status::unreadable(path, &error))?;
    let metadata = file.metadata().map_err(|error| status::unreadable(path, &error))?;
    if !metadata.is_file() {
        return Err(status::invalid(format!(
            "{path} is not a regular file (a folder, device or pipe); pass a PNG, JPEG or WebP file"
        )));
    }
    if metadata.len() > MAX_IMAGE_BYTES as u64 {
        return Err(status::invalid(format!(
            "{path} is {} MiB; pictures are limited to {} MiB: downscale it or save it as a JPEG",
            metadata.len() >> 20,
            MAX_IMAGE_BYTES >> 20
        )));
    }
    let mut reserved = Reserved::default();
    budget.grow(&mut reserved, metadata.len() as usize)?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The file may grow while it is read: never read past the limit.
    file.take(MAX_IMAGE_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(|error| status::unreadable(path, &error))?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(status::invalid(format!("{path} grew past {} MiB while it was read", MAX_IMAGE_BYTES >> 20)));
    }
    budget.grow(&mut reserved, bytes.len().saturating_sub(metadata.len() as usize))?;
    Ok((bytes, reserved))
}

/// Who sent a request: the peer process on the socket, or the peer address on loopback TCP.
fn client_of<T>(request: &Request<T>) -> String {
    if let Some(info) = request.extensions().get::<super::connections::ConnectionInfo>() {
        return info.peer.clone();
    }
    #[cfg(windows)]
    if let Some(info) = request.extensions().get::<super::local::PipeConnectInfo>()
        && let Some(pid) = info.pid
    {
        return format!("pid {pid}");
    }
    request.remote_addr().map_or_else(|| "unknown".to_owned(), |address| format!("tcp {address}"))
}

/// Streams a job's events to one client until the job ends. When the client goes away first and
/// `cancel_on_disconnect` is set, the job is cancelled.
fn forward(
    queue: JobQueue,
    id: String,
    first: Option<events::JobEvent>,
    mut events: broadcast::Receiver<events::JobEvent>,
    cancel_on_disconnect: bool,
) -> EventStream {
    let (sender, receiver) = mpsc::channel::<Result<JobEvent, Status>>(64);
    tokio::spawn(async move {
        if let Some(event) = first {
            let done = event.update.is_terminal();
            if sender.send(Ok(wire_event(&event))).await.is_err() || done {
                return;
            }
        }
        loop {
            tokio::select! {
                received = events.recv() => match received {
                    Ok(event) => {
                        let done = event.update.is_terminal();
                        if sender.send(Ok(wire_event(&event))).await.is_err() {
                            break;
                        }
                        if done {
                            return;
                        }
                    }
                    // A slow client missed some progress events; carry on with the next ones.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = sender.closed() => break,
            }
        }
        if cancel_on_disconnect && queue.cancel(&id) == Some(true) {
            tracing::info!(job = %id, "client went away; job cancelled");
        }
    });
    Box::pin(ReceiverStream::new(receiver))
}

/// A job's event as the API's message.
fn wire_event(event: &events::JobEvent) -> JobEvent {
    use v1::job_event::Kind;
    let kind = match &event.update {
        Update::Queued { position } => Kind::Queued(v1::Queued { position: *position }),
        Update::Started { device, background } => {
            Kind::Started(v1::Started { device: device.clone(), background: background.clone() })
        }
        &Update::Progress { stage, stage_fraction, fraction, eta_ms } => {
            Kind::Progress(v1::Progress { stage: wire_stage(stage) as i32, stage_fraction, fraction, eta_ms })
        }
        Update::Warning { message } => Kind::Warning(v1::Warning { message: message.clone() }),
        Update::Finished(finished) => Kind::Finished(v1::Finished {
            record_json: finished.record_json.clone(),
            files: finished.files.clone(),
            generation_id: finished.generation_id.clone().unwrap_or_default(),
            warnings: finished.warnings.clone(),
        }),
        Update::Failed { kind, message } => Kind::Failed(status::failed(*kind, message.clone())),
        Update::Cancelled => Kind::Cancelled(v1::Cancelled {}),
    };
    JobEvent { job_id: event.job_id.clone(), kind: Some(kind) }
}

/// A job as the API lists it.
fn wire_summary(summary: &events::JobSummary) -> v1::JobSummary {
    let state = match summary.state {
        JobState::Queued => v1::JobState::Queued,
        JobState::Running => v1::JobState::Running,
        JobState::Finished => v1::JobState::Finished,
        JobState::Failed => v1::JobState::Failed,
        JobState::Cancelled => v1::JobState::Cancelled,
    };
    v1::JobSummary {
        job_id: summary.job_id.clone(),
        state: state as i32,
        source: summary.source.clone(),
        position: summary.position,
        fraction: summary.fraction,
        error: summary.error.clone(),
    }
}

/// The API's name for an engine stage.
fn wire_stage(stage: threedgpt_engine::Stage) -> v1::Stage {
    use threedgpt_engine::Stage;
    match stage {
        Stage::Decode => v1::Stage::Decode,
        Stage::Foreground => v1::Stage::Foreground,
        Stage::Reconstruct => v1::Stage::Reconstruct,
        Stage::Mesh => v1::Stage::Mesh,
        Stage::Texture => v1::Stage::Texture,
        Stage::Export => v1::Stage::Export,
    }
}

/// The learned models loaded for a job.
struct LoadedModels {
    /// Where each runs, for the Started event: `segmentation on CUDA; depth on CPU`.
    placements: String,
    /// Whether any runs on the GPU.
    gpu: bool,
    models: JobModels,
    /// Set when a model runs on the GPU.
    cpu_fallback: Option<CpuFallback>,
}

/// The kind of installed model that serves `role`.
fn kind_for(role: Role) -> threedgpt_neural::Kind {
    match role {
        Role::Reconstructor => threedgpt_neural::Kind::Triplane,
        Role::Segmentation => threedgpt_neural::Kind::Segmentation,
        Role::Depth => threedgpt_neural::Kind::Depth,
    }
}

/// The role an installed model's kind serves.
pub(crate) fn role_of(kind: threedgpt_neural::Kind) -> Role {
    match kind {
        threedgpt_neural::Kind::Triplane => Role::Reconstructor,
        threedgpt_neural::Kind::Segmentation => Role::Segmentation,
        threedgpt_neural::Kind::Depth => Role::Depth,
    }
}

/// Installed models loaded for the engine, each into its place in `models` (blocking); returns
/// where each runs.
fn load_models(
    neural: &Neural,
    installed: &[Installed],
    gpu: bool,
    models: &mut JobModels,
) -> Result<Vec<(&'static str, Placement)>, String> {
    let mut placements = Vec::new();
    for model in installed {
        let kind = model.manifest.kind;
        let placement = match kind {
            threedgpt_neural::Kind::Segmentation => {
                let loaded = neural.segmenter(model, gpu)?;
                let placement = loaded.placement().clone();
                models.segmenter = Some(loaded);
                placement
            }
            threedgpt_neural::Kind::Depth => {
                let loaded = neural.depth(model, gpu)?;
                let placement = loaded.placement().clone();
                models.depth = Some(loaded);
                placement
            }
            threedgpt_neural::Kind::Triplane => {
                let loaded = neural.reconstructor(model, gpu)?;
                let placement = loaded.placement().clone();
                models.reconstructor = Some(loaded);
                placement
            }
        };
        placements.push((kind.name(), placement));
    }
    Ok(placements)
}

impl Daemon {
    /// A value for the `segmentation` setting: "auto", "builtin" or an installed segmentation
    /// model.
    async fn check_segmentation(&self, value: &str) -> Result<(), Status> {
        if matches!(value, "auto" | "builtin") {
            return Ok(());
        }
        let neural = self.neural.clone();
        let installed = tokio::task::spawn_blocking(move || neural.installed())
            .await
            .map_err(|error| Status::internal(error.to_string()))?;
        let segmenters: Vec<String> = installed
            .into_iter()
            .filter(|model| model.manifest.kind == threedgpt_neural::Kind::Segmentation)
            .map(|model| model.manifest.name)
            .collect();
        if segmenters.iter().any(|name| name == value) {
            return Ok(());
        }
        Err(status::invalid(format!(
            "segmentation {value:?} is not an installed segmentation model; choose \"auto\", \"builtin\"{}, or \
             install it first (`3dgpt models list` shows the catalog)",
            segmenters.iter().map(|name| format!(", {name:?}")).collect::<String>()
        )))
    }

    /// The request's models with what finds its object: the model it names for `background`, or
    /// for "auto" the best remover available (see `Neural::auto_segmenter`). An automatically
    /// chosen model that cannot load leaves the job to the built-in removal, with a warning.
    async fn with_remover(
        &self,
        request: &v1::GenerateOptions,
        named: Vec<(Role, String)>,
        device: v1::Device,
    ) -> Result<(Option<LoadedModels>, Remover), Status> {
        let segmentation_named =
            named.iter().find(|(role, _)| *role == Role::Segmentation).map(|(_, name)| name.clone());
        let auto = request.background == v1::Background::Auto as i32 && segmentation_named.is_none();
        if !auto {
            let name = segmentation_named.unwrap_or_else(|| "builtin".to_owned());
            return Ok((self.neural_models(named, device).await?, Remover { name, ..Remover::default() }));
        }
        let (neural, preference) = (self.neural.clone(), self.recorder.settings().segmentation);
        let chosen = tokio::task::spawn_blocking(move || neural.auto_segmenter(&preference))
            .await
            .map_err(|error| Status::internal(error.to_string()))?;
        let chosen = match chosen {
            Ok(chosen) => chosen,
            Err(builtin) => return Ok((self.neural_models(named, device).await?, builtin)),
        };
        let name = chosen.manifest.name.clone();
        let mut with_it = named.clone();
        with_it.push((Role::Segmentation, name.clone()));
        match self.neural_models(with_it, device).await {
            Ok(loaded) => Ok((loaded, Remover { name, ..Remover::default() })),
            Err(error) => {
                tracing::warn!(model = %name, error = %error.message(), "the automatic segmentation model did not load");
                let warning = format!(
                    "{name} could not be used ({}); the built-in background removal ran instead. Check it with \
                     `3dgpt models verify {name}`",
                    error.message()
                );
                let builtin = Remover { name: "builtin".to_owned(), warning: Some(warning), advice: None };
                Ok((self.neural_models(named, device).await?, builtin))
            }
        }
    }

    /// The learned models a request names, each checked to be installed and of its role, loaded
    /// for `device`: `None` when it names none; an error for a model that is missing, of another
    /// role, cannot run, or cannot run on the GPU when the GPU is required.
    async fn neural_models(
        &self,
        named: Vec<(Role, String)>,
        device: v1::Device,
    ) -> Result<Option<LoadedModels>, Status> {
        if named.is_empty() {
            return Ok(None);
        }
        let neural = self.neural.clone();
        tokio::task::spawn_blocking(move || {
            let mut installed = Vec::new();
            for (role, name) in named {
                let model = neural
                    .store
                    .get(&name)
                    .map_err(|_| status::request_status(RequestError::UnknownModel { role, name: name.clone() }))?;
                if model.manifest.kind != kind_for(role) {
                    let serves = role_of(model.manifest.kind);
                    return Err(status::invalid(format!(
                        "{name} is a {} model, not a {} one: choose it as the {} option",
                        serves.name(),
                        role.name(),
                        serves.option().name
                    )));
                }
                installed.push(model);
            }
            let gpu = device != v1::Device::Cpu;
            let mut models = JobModels::default();
            let placements = load_models(&neural, &installed, gpu, &mut models).map_err(Status::failed_precondition)?;
            let on_gpu = placements.iter().any(|(_, placement)| placement.provider != "CPU");
            if device == v1::Device::Gpu
                && let Some((_, placement)) = placements.iter().find(|(_, placement)| placement.provider == "CPU")
            {
                return Err(Status::failed_precondition(format!(
                    "{} cannot run on the GPU here: {}; choose the device \"auto\" or \"cpu\"",
                    installed.iter().map(|model| model.manifest.name.as_str()).collect::<Vec<_>>().join(", "),
                    placement.fallback.as_deref().unwrap_or("no GPU execution provider is available")
                )));
            }
            let placements = placements
                .iter()
                .map(|(kind, placement)| format!("{kind} on {placement}"))
                .collect::<Vec<_>>()
                .join("; ");
            let cpu_fallback = on_gpu.then(|| {
                CpuFallback(Box::new(move || {
                    let mut models = JobModels::default();
                    load_models(&neural, &installed, false, &mut models).map(|_| models)
                }))
            });
            Ok(Some(LoadedModels { placements, gpu: on_gpu, models, cpu_fallback }))
        })
        .await
        .map_err(|error| Status::internal(error.to_string()))?
    }
}

type InstallStream = Pin<Box<dyn Stream<Item = Result<v1::InstallModelProgress, Status>> + Send>>;

/// An installed model as the API describes it.
fn installed_message(installed: &Installed) -> v1::InstalledModel {
    v1::InstalledModel {
        name: installed.manifest.name.clone(),
        kind: installed.manifest.kind.name().to_owned(),
        size_bytes: installed.manifest.size(),
        files: installed.manifest.files.len() as u32,
        folder: installed.folder.display().to_string(),
    }
}

#[tonic::async_trait]
impl Models for Daemon {
    type InstallStream = InstallStream;

    async fn install(&self, request: Request<v1::InstallModelRequest>) -> Result<Response<InstallStream>, Status> {
        self.queue.touch();
        let request = request.into_inner();
        // The manifest: a catalog model's, or the file the client names.
        let manifest = if request.name.is_empty() {
            let path = PathBuf::from(&request.manifest_path);
            if !path.is_absolute() {
                return Err(status::invalid(format!(
                    "manifest_path must be an absolute path, got {:?}",
                    request.manifest_path
                )));
            }
            tokio::task::spawn_blocking(move || threedgpt_neural::store::read_manifest(&path))
                .await
                .map_err(|error| Status::internal(error.to_string()))?
                .map_err(|error| status::model_store_status(&error))?
        } else {
            let entry = threedgpt_neural::catalog::find(&request.name).ok_or_else(|| {
                let names: Vec<String> =
                    threedgpt_neural::catalog::entries().into_iter().map(|entry| entry.manifest.name).collect();
                Status::not_found(format!(
                    "no model {:?} in the catalog; it has {}. To install another, pass its manifest file",
                    request.name,
                    names.join(", ")
                ))
            })?;
            (entry.manifest, entry.text.to_owned())
        };
        let (sender, receiver) = mpsc::channel::<Result<v1::InstallModelProgress, Status>>(16);
        let neural = self.neural.clone();
        tokio::task::spawn_blocking(move || {
            let mut last_sent = std::time::Instant::now();
            let mut report = |done: u64, total: u64| {
                // Progress at most every 100 ms, and never waiting on a slow client.
                if done == total || last_sent.elapsed() >= std::time::Duration::from_millis(100) {
                    last_sent = std::time::Instant::now();
                    let _ = sender.try_send(Ok(v1::InstallModelProgress {
                        done_bytes: done,
                        total_bytes: total,
                        installed: None,
                    }));
                }
            };
            let source = request.source;
            let (manifest, text) = manifest;
            let installed = if source.is_empty() {
                neural.store.download_manifest(&manifest, &text, None, &mut report)
            } else if source.starts_with("http://") || source.starts_with("https://") {
                neural.store.download_manifest(&manifest, &text, Some(&source), &mut report)
            } else {
                neural.store.install_manifest(&manifest, &text, Path::new(&source), &mut report)
            };
            let last = match installed {
                Ok(installed) => {
                    tracing::info!(model = %installed.manifest.name, "model installed");
                    let size = installed.manifest.size();
                    Ok(v1::InstallModelProgress {
                        done_bytes: size,
                        total_bytes: size,
                        installed: Some(installed_message(&installed)),
                    })
                }
                Err(error) => Err(status::model_store_status(&error)),
            };
            let _ = sender.blocking_send(last);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    async fn verify(&self, request: Request<v1::VerifyModelRequest>) -> Result<Response<v1::InstalledModel>, Status> {
        self.queue.touch();
        let (neural, name) = (self.neural.clone(), request.into_inner().name);
        let installed = tokio::task::spawn_blocking(move || neural.verify(&name))
            .await
            .map_err(|error| Status::internal(error.to_string()))?
            .map_err(|error| status::model_store_status(&error))?;
        Ok(Response::new(installed_message(&installed)))
    }

    async fn remove(
        &self,
        request: Request<v1::RemoveModelRequest>,
    ) -> Result<Response<v1::RemoveModelResponse>, Status> {
        self.queue.touch();
        let (neural, name) = (self.neural.clone(), request.into_inner().name);
        tokio::task::spawn_blocking(move || neural.remove(&name))
            .await
            .map_err(|error| Status::internal(error.to_string()))?
            .map_err(|error| match error {
                super::neural::RemoveError::InUse(_) => Status::failed_precondition(error.to_string()),
                super::neural::RemoveError::Store(error) => status::model_store_status(&error),
            })?;
        Ok(Response::new(v1::RemoveModelResponse {}))
    }

    async fn list(&self, _request: Request<v1::ListModelsRequest>) -> Result<Response<v1::ListModelsResponse>, Status> {
        self.queue.touch();
        let neural = self.neural.clone();
        let (installed, runtime) = tokio::task::spawn_blocking(move || (neural.installed(), neural.runtime()))
            .await
            .map_err(|error| Status::internal(error.to_string()))?;
        let provider = match &runtime {
            Ok(runtime) => runtime.providers.first().map_or_else(|| "CPU".to_owned(), Clone::clone),
            Err(_) => "unavailable (ONNX Runtime is not installed)".to_owned(),
        };
        let mut models = vec![v1::ModelInfo {
            name: threedgpt_engine::RELIEF_MODEL.to_owned(),
            kind: "reconstruction".to_owned(),
            installed: true,
            size_bytes: 0,
            provider: "cpu".to_owned(),
            description: "built-in: inflates the silhouette into a rounded solid; no model files, works offline"
                .to_owned(),
            license: String::new(),
            in_catalog: false,
        }];
        let catalog = threedgpt_neural::catalog::entries();
        let in_catalog = |name: &str| catalog.iter().any(|entry| entry.manifest.name == name);
        let info = |manifest: &threedgpt_neural::Manifest, installed: bool, provider: String| v1::ModelInfo {
            name: manifest.name.clone(),
            kind: manifest.kind.name().to_owned(),
            installed,
            size_bytes: manifest.size(),
            provider,
            description: manifest.description.clone(),
            license: manifest.license.clone(),
            in_catalog: in_catalog(&manifest.name),
        };
        models.extend(installed.iter().map(|model| info(&model.manifest, true, provider.clone())));
        // The catalog's models not installed yet, to install by name.
        models.extend(
            catalog
                .iter()
                .filter(|entry| !installed.iter().any(|model| model.manifest.name == entry.manifest.name))
                .map(|entry| info(&entry.manifest, false, String::new())),
        );
        Ok(Response::new(v1::ListModelsResponse { models }))
    }
}

#[tonic::async_trait]
impl System for Daemon {
    async fn info(&self, _request: Request<v1::InfoRequest>) -> Result<Response<v1::InfoResponse>, Status> {
        self.queue.touch();
        let (queued, running) = self.queue.counts();
        let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
        let neural = self.neural.clone();
        let runtime = tokio::task::spawn_blocking(move || neural.runtime())
            .await
            .map_err(|error| Status::internal(error.to_string()))?;
        let (onnxruntime_path, onnxruntime_version, onnxruntime_status, execution_providers) = match runtime {
            Ok(runtime) => (
                runtime.path.display().to_string(),
                runtime.version.clone(),
                format!("ONNX Runtime {} loaded from {}", runtime.version, runtime.path.display()),
                runtime.providers,
            ),
            Err(error) => (String::new(), String::new(), error.to_string(), Vec::new()),
        };
        Ok(Response::new(v1::InfoResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            api_version: threedgpt_proto::API_VERSION.to_owned(),
            devices: vec![format!("cpu ({cores} cores)")],
            execution_providers,
            onnxruntime_path,
            onnxruntime_version,
            onnxruntime_status,
            queue_length: queued as u32,
            running_jobs: running as u32,
            store_path: self.store_path.display().to_string(),
            socket_path: self.socket_path.display().to_string(),
            pid: std::process::id(),
        }))
    }

    async fn shutdown(&self, _request: Request<v1::ShutdownRequest>) -> Result<Response<v1::ShutdownResponse>, Status> {
        tracing::info!("shutdown requested by a client");
        self.shutdown.notify_one();
        Ok(Response::new(v1::ShutdownResponse {}))
    }

    async fn get_settings(&self, _request: Request<v1::GetSettingsRequest>) -> Result<Response<v1::Settings>, Status> {
        self.queue.touch();
        Ok(Response::new(self.settings_message()))
    }

    async fn update_settings(
        &self,
        request: Request<v1::UpdateSettingsRequest>,
    ) -> Result<Response<v1::Settings>, Status> {
        self.queue.touch();
        let request = request.into_inner();
        if let Some(segmentation) = &request.segmentation {
            self.check_segmentation(segmentation).await?;
        }
        let change = crate::account::SettingsChange {
            sync: request.sync,
            telemetry: request.telemetry,
            training_consent: request.training_consent,
            marketing_email: request.marketing_email,
        };
        // Signed in, the account's settings are the service's: changed there, for every device.
        let signed_in = self.accounts.remembered().is_some();
        if signed_in && !change.is_empty() {
            let accounts = self.accounts.clone();
            super::account_service::blocking(move || accounts.update_settings(change)).await?;
        }
        self.recorder
            .update(|settings| {
                if let Some(enabled) = request.history_enabled {
                    settings.history_enabled = enabled;
                }
                if let Some(segmentation) = &request.segmentation {
                    settings.segmentation.clone_from(segmentation);
                }
                if !signed_in {
                    let pick = |new: Option<bool>, old: bool| new.unwrap_or(old);
                    settings.sync = pick(change.sync, settings.sync);
                    settings.telemetry = pick(change.telemetry, settings.telemetry);
                    settings.training_consent = pick(change.training_consent, settings.training_consent);
                    settings.marketing_email = pick(change.marketing_email, settings.marketing_email);
                }
            })
            .map_err(|error| Status::internal(format!("could not save the settings: {error}")))?;
        self.syncer.nudge();
        Ok(Response::new(self.settings_message()))
    }

    async fn options(&self, _request: Request<v1::OptionsRequest>) -> Result<Response<v1::OptionsResponse>, Status> {
        self.queue.touch();
        let neural = self.neural.clone();
        let installed = tokio::task::spawn_blocking(move || neural.installed())
            .await
            .map_err(|error| Status::internal(error.to_string()))?;
        let installed: Vec<(Role, String)> =
            installed.into_iter().map(|model| (role_of(model.manifest.kind), model.manifest.name)).collect();
        Ok(Response::new(threedgpt_proto::option_table(&installed)))
    }
}
