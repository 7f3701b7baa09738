//! The `History` service over the encrypted store, and the settings RPCs of `System`. Store calls
//! touch SQLite and the disk, so they run on blocking threads.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use threedgpt_proto::v1::history_server::History;
use threedgpt_proto::v1::{self};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::held::HeldResult;
use super::service::Daemon;
use super::status;
use threedgpt_engine::Format;

use crate::history::{Artifact, Generation, HistoryStore, StoreError};

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;
const CHUNK_BYTES: usize = 4 << 20;

type ChunkStream = Pin<Box<dyn Stream<Item = Result<v1::DownloadChunk, Status>> + Send>>;

impl Daemon {
    fn store(&self) -> Result<Arc<HistoryStore>, Status> {
        self.recorder
            .store
            .clone()
            .ok_or_else(|| Status::failed_precondition(format!("history is unavailable: {}", self.recorder.status)))
    }
}

/// Re-encodes a stored GLB in another single-file format.
fn convert(glb: &[u8], format: Format) -> Result<Vec<u8>, StoreError> {
    let asset = threedgpt_engine::export::asset_from_glb(glb).map_err(engine_failure)?;
    threedgpt_engine::export::single_file_bytes(&asset, format, false)
        .unwrap_or_else(|| Ok(glb.to_vec()))
        .map_err(engine_failure)
}

/// An engine failure while exporting from the history, as a store error the caller can read.
fn engine_failure(error: threedgpt_engine::EngineError) -> StoreError {
    match error {
        threedgpt_engine::EngineError::UnreadableAsset { .. } => StoreError::Damaged(error.to_string()),
        threedgpt_engine::EngineError::Write { path, source } => StoreError::Io { path, source },
        other => StoreError::Io { path: PathBuf::new(), source: std::io::Error::other(other.to_string()) },
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| Status::internal(format!("history task failed: {error}")))?
        .map_err(status::store_status)
}

fn to_proto(generation: &Generation) -> v1::Generation {
    v1::Generation {
        id: generation.id.clone(),
        created_unix_ms: generation.created_ms,
        source: generation.source.clone(),
        record_json: generation.record_json.clone(),
        device: generation.device.clone(),
        elsewhere: !generation.is_here(),
    }
}

fn held_to_proto(held: &HeldResult) -> v1::Generation {
    v1::Generation {
        id: held.id.clone(),
        created_unix_ms: held.created_ms,
        source: held.source.clone(),
        record_json: held.record_json.clone(),
        device: String::new(),
        elsewhere: false,
    }
}

/// Bytes as a download stream in chunks.
fn chunked(bytes: Vec<u8>) -> Vec<v1::DownloadChunk> {
    let bytes = prost::bytes::Bytes::from(bytes);
    let total_size = bytes.len() as u64;
    (0..bytes.len())
        .step_by(CHUNK_BYTES)
        .map(|start| v1::DownloadChunk { data: bytes.slice(start..(start + CHUNK_BYTES).min(bytes.len())), total_size })
        .collect()
}

async fn find(store: &Arc<HistoryStore>, id: &str) -> Result<Generation, Status> {
    let (store, key) = (store.clone(), id.to_owned());
    blocking(move || store.get(&key)).await?.ok_or_else(|| status::unknown_generation(id))
}

#[tonic::async_trait]
impl History for Daemon {
    type DownloadStream = ChunkStream;

    async fn list(
        &self,
        request: Request<v1::ListHistoryRequest>,
    ) -> Result<Response<v1::ListHistoryResponse>, Status> {
        self.queue.touch();
        let request = request.into_inner();
        let store = self.store()?;
        let limit = match request.page_size as usize {
            0 => DEFAULT_PAGE,
            size => size.min(MAX_PAGE),
        };
        let offset: usize = if request.page_token.is_empty() {
            0
        } else {
            request
                .page_token
                .parse()
                .map_err(|_| Status::invalid_argument("page_token is not one this daemon handed out"))?
        };
        let (page, total) = blocking(move || store.list(offset, limit)).await?;
        let next = offset + page.len();
        Ok(Response::new(v1::ListHistoryResponse {
            generations: page.iter().map(to_proto).collect(),
            total: total as u32,
            next_page_token: if next < total { next.to_string() } else { String::new() },
        }))
    }

    async fn get(&self, request: Request<v1::GetGenerationRequest>) -> Result<Response<v1::Generation>, Status> {
        self.queue.touch();
        let id = request.into_inner().id;
        if let Some(held) = self.recorder.held.get(&id) {
            return Ok(Response::new(held_to_proto(&held)));
        }
        let generation = find(&self.store()?, &id).await?;
        Ok(Response::new(to_proto(&generation)))
    }

    async fn download(&self, request: Request<v1::DownloadRequest>) -> Result<Response<ChunkStream>, Status> {
        self.queue.touch();
        let request = request.into_inner();
        let artifact = match v1::Artifact::try_from(request.artifact) {
            Ok(v1::Artifact::Asset) => Artifact::Asset,
            Ok(v1::Artifact::Input) => Artifact::Input,
            Ok(v1::Artifact::Thumbnail) => Artifact::Thumbnail,
            Err(_) => {
                return Err(Status::invalid_argument(format!("unknown artifact {}", request.artifact)));
            }
        };
        let format = match v1::Format::try_from(request.format) {
            Ok(v1::Format::Unspecified | v1::Format::Glb) => Format::Glb,
            Ok(v1::Format::Stl) => Format::Stl,
            Ok(v1::Format::Ply) => Format::Ply,
            Ok(v1::Format::Gltf | v1::Format::Obj) => {
                return Err(Status::invalid_argument("glTF and OBJ assets are several files; use Export with a path"));
            }
            Err(_) => return Err(Status::invalid_argument(format!("unknown format {}", request.format))),
        };
        if let Some(held) = self.recorder.held.get(&request.id) {
            return self.download_held(held, artifact, format).await;
        }
        let store = self.store()?;
        // A thumbnail alone never brings a generation removed from this device back (a gallery
        // asks for every one); the picture or the asset does.
        let generation = if artifact == Artifact::Thumbnail {
            find(&store, &request.id).await?
        } else {
            self.find_here(&store, &request.id).await?
        };
        if artifact != Artifact::Asset || format == Format::Glb {
            // Stored as is: decrypt and send chunk by chunk, the two overlapping on two threads.
            let (sender, receiver) = tokio::sync::mpsc::channel::<Result<v1::DownloadChunk, Status>>(4);
            tokio::task::spawn_blocking(move || {
                let total_size = std::cell::Cell::new(0);
                let result = store.read_chunks(
                    &generation,
                    artifact,
                    |size| total_size.set(size),
                    |data| {
                        let chunk = v1::DownloadChunk { data: data.into(), total_size: total_size.get() };
                        sender.blocking_send(Ok(chunk)).is_ok()
                    },
                );
                if let Err(error) = result {
                    let _ = sender.blocking_send(Err(status::store_status(error)));
                }
            });
            return Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))));
        }
        let bytes = blocking(move || convert(&store.read(&generation, Artifact::Asset)?, format)).await?;
        Ok(Response::new(Box::pin(tokio_stream::iter(chunked(bytes).into_iter().map(Ok)))))
    }

    async fn export(&self, request: Request<v1::ExportRequest>) -> Result<Response<v1::ExportResponse>, Status> {
        self.queue.touch();
        let request = request.into_inner();
        let path = PathBuf::from(&request.path);
        let format = path.extension().and_then(|extension| extension.to_str()).and_then(Format::from_extension);
        let Some(format) = format.filter(|_| path.is_absolute()) else {
            return Err(Status::invalid_argument(format!(
                "export needs an absolute path ending in .glb, .gltf, .obj, .stl or .ply, got {:?}",
                request.path
            )));
        };
        if let Some(held) = self.recorder.held.get(&request.id) {
            let files = blocking(move || write_glb_as(&held.glb, &path, format)).await?;
            self.recorder.held.remove(&request.id);
            return Ok(Response::new(v1::ExportResponse {
                files: files.iter().map(|file| file.display().to_string()).collect(),
            }));
        }
        let store = self.store()?;
        let generation = self.find_here(&store, &request.id).await?;
        let target = path.clone();
        let files = blocking(move || write_glb_as(&store.read(&generation, Artifact::Asset)?, &target, format)).await?;
        Ok(Response::new(v1::ExportResponse { files: files.iter().map(|file| file.display().to_string()).collect() }))
    }

    async fn delete(
        &self,
        request: Request<v1::DeleteGenerationRequest>,
    ) -> Result<Response<v1::DeleteGenerationResponse>, Status> {
        self.queue.touch();
        let request = request.into_inner();
        let id = request.id;
        if request.this_device {
            let store = self.store()?;
            let key = id.clone();
            if !blocking(move || store.evict(&key)).await? {
                return Err(Status::failed_precondition(format!(
                    "{id} is not a generation the account holds with its files here: removing it from this device                      only would lose it; delete it everywhere instead (without --this-device)"
                )));
            }
            return Ok(Response::new(v1::DeleteGenerationResponse { existed: true, everywhere: false }));
        }
        if self.recorder.held.remove(&id) {
            return Ok(Response::new(v1::DeleteGenerationResponse { existed: true, everywhere: false }));
        }
        let store = self.store()?;
        // Signed in, a delete is for every device: the account is told (now, or once it answers).
        let everywhere = self.accounts.remembered().is_some();
        let existed = blocking(move || store.delete(&id, everywhere)).await?;
        self.syncer.nudge();
        Ok(Response::new(v1::DeleteGenerationResponse { existed, everywhere: everywhere && existed }))
    }

    async fn delete_all(
        &self,
        _request: Request<v1::DeleteAllRequest>,
    ) -> Result<Response<v1::DeleteAllResponse>, Status> {
        self.queue.touch();
        let held = self.recorder.held.clear();
        let everywhere = self.accounts.remembered().is_some();
        let deleted = match self.recorder.store.clone() {
            Some(store) => blocking(move || store.delete_all(everywhere)).await?,
            None if held > 0 => 0,
            None => return Err(self.store().err().unwrap_or_else(|| Status::internal("no history"))),
        };
        self.syncer.nudge();
        Ok(Response::new(v1::DeleteAllResponse { deleted: (deleted + held) as u32, everywhere }))
    }
}

/// Writes a GLB's asset to `path` in `format` (the GLB itself when that is the format).
fn write_glb_as(glb: &[u8], path: &std::path::Path, format: Format) -> Result<Vec<PathBuf>, StoreError> {
    if format == Format::Glb {
        threedgpt_engine::export::write_atomic(path, glb).map_err(engine_failure)?;
        return Ok(vec![path.to_path_buf()]);
    }
    let asset = threedgpt_engine::export::asset_from_glb(glb).map_err(engine_failure)?;
    threedgpt_engine::export::write(&asset, path, format, false).map_err(engine_failure)
}

impl Daemon {
    /// A generation with its files on this device: one removed from this device only is
    /// downloaded again from the account first.
    async fn find_here(&self, store: &Arc<HistoryStore>, id: &str) -> Result<Generation, Status> {
        let generation = find(store, id).await?;
        if generation.is_here() {
            return Ok(generation);
        }
        let (syncer, key) = (self.syncer.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || syncer.restore(&key))
            .await
            .map_err(|error| Status::internal(format!("the download task failed: {error}")))?
            .map_err(|error| {
                Status::unavailable(format!("{id}'s files are not on this device and could not be downloaded: {error}"))
            })
    }

    /// Sends a held result's asset, then lets it go: it was held only until its client took it.
    async fn download_held(
        &self,
        held: HeldResult,
        artifact: Artifact,
        format: Format,
    ) -> Result<Response<ChunkStream>, Status> {
        if artifact != Artifact::Asset {
            return Err(Status::not_found(format!(
                "{} was made with the history off: only its asset is held, until it is downloaded",
                held.id
            )));
        }
        let glb = held.glb.clone();
        let bytes =
            blocking(move || if format == Format::Glb { Ok(glb.to_vec()) } else { convert(&glb, format) }).await?;
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<v1::DownloadChunk, Status>>(2);
        let recorder = self.recorder.clone();
        tokio::spawn(async move {
            for chunk in chunked(bytes) {
                if sender.send(Ok(chunk)).await.is_err() {
                    return; // The client went away: keep the result for another try.
                }
            }
            recorder.held.remove(&held.id);
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))))
    }

    /// The settings: this device's, and the account's as last read when signed in.
    pub(crate) fn settings_message(&self) -> v1::Settings {
        let local = self.recorder.settings();
        let account = self.accounts.remembered().map(|remembered| remembered.settings);
        let (sync, telemetry, training_consent, marketing_email) = match account {
            Some(Some(account)) => (account.sync, account.telemetry, account.training_consent, account.marketing_email),
            // Signed in but never read: the service's defaults.
            Some(None) => (true, false, false, false),
            None => (local.sync, local.telemetry, local.training_consent, local.marketing_email),
        };
        v1::Settings {
            history_enabled: local.history_enabled,
            history_available: self.recorder.store.is_some(),
            history_status: self.recorder.status.clone(),
            sync,
            telemetry,
            training_consent,
            marketing_email,
            scope: if account.is_some() { "account" } else { "device" }.to_owned(),
            segmentation: local.segmentation,
        }
    }
}
