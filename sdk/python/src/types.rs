//! The Python classes for what the daemon returns: events, generations, history entries, models,
//! settings and the daemon's own description. All are immutable snapshots.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};
use threedgpt_sdk as sdk;

pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Event>()?;
    module.add_class::<Generation>()?;
    module.add_class::<HistoryEntry>()?;
    module.add_class::<JobInfo>()?;
    module.add_class::<Model>()?;
    module.add_class::<Settings>()?;
    module.add_class::<AccountStatus>()?;
    module.add_class::<SyncStatus>()?;
    module.add_class::<DaemonInfo>()?;
    Ok(())
}

/// The generation record (a JSON object) as a Python dict.
fn record_dict(py: Python<'_>, json: &str) -> PyResult<Py<PyAny>> {
    Ok(py.import("json")?.call_method1("loads", (json,))?.unbind())
}

fn record_number(record: &serde_json::Value, key: &str) -> Option<u64> {
    record.get(key).and_then(serde_json::Value::as_u64)
}

/// Something that happened to a job: `kind` is one of "queued", "started", "progress",
/// "finished", "failed", "cancelled"; the other fields are set for the kinds they belong to.
#[pyclass(frozen, module = "threedgpt")]
pub(crate) struct Event {
    /// "queued", "started", "progress", "finished", "failed" or "cancelled".
    #[pyo3(get)]
    kind: &'static str,
    /// The job.
    #[pyo3(get)]
    job_id: String,
    /// Place in the queue (queued; 1 runs next).
    #[pyo3(get)]
    position: Option<u32>,
    /// Where the job runs (started), e.g. "cpu".
    #[pyo3(get)]
    device: Option<String>,
    /// What finds the object (started): a segmentation model's name, or "builtin".
    #[pyo3(get)]
    background: Option<String>,
    /// The stage's name (progress): decode, foreground, reconstruct, mesh, texture, export.
    #[pyo3(get)]
    stage: Option<&'static str>,
    /// Share of the stage done (progress).
    #[pyo3(get)]
    stage_fraction: Option<f32>,
    /// Share of the whole job done (progress).
    #[pyo3(get)]
    fraction: Option<f32>,
    /// Estimated seconds left (progress), when known.
    #[pyo3(get)]
    eta: Option<f64>,
    /// The result (finished); see the `generation` getter.
    generation: Option<Py<Generation>>,
    /// The failure's kind as a gRPC code name (failed).
    #[pyo3(get)]
    code: Option<String>,
    /// What went wrong and what to do (failed).
    #[pyo3(get)]
    message: Option<String>,
    /// The failure's kind (failed), which picks the exception.
    error_kind: Option<sdk::ErrorKind>,
}

impl Event {
    pub(crate) fn from_sdk(py: Python<'_>, event: sdk::JobEvent) -> PyResult<Event> {
        let mut converted = Event {
            kind: "queued",
            job_id: event.job_id().to_owned(),
            position: None,
            device: None,
            background: None,
            stage: None,
            stage_fraction: None,
            fraction: None,
            eta: None,
            generation: None,
            code: None,
            message: None,
            error_kind: None,
        };
        match event {
            sdk::JobEvent::Queued { position, .. } => converted.position = Some(position),
            sdk::JobEvent::Started { device, background, .. } => {
                converted.kind = "started";
                converted.device = Some(device);
                converted.background = Some(background);
            }
            sdk::JobEvent::Progress { stage, stage_fraction, fraction, eta, .. } => {
                converted.kind = "progress";
                converted.stage = Some(stage.name());
                converted.stage_fraction = Some(stage_fraction);
                converted.fraction = Some(fraction);
                converted.eta = eta.map(|eta| eta.as_secs_f64());
            }
            sdk::JobEvent::Finished { job_id, record, files, generation_id, warnings } => {
                converted.kind = "finished";
                let generation = Generation::new(job_id, &record, files, generation_id, warnings);
                converted.generation = Some(Py::new(py, generation)?);
            }
            sdk::JobEvent::Failed { kind, code, message, .. } => {
                converted.error_kind = Some(kind);
                converted.kind = "failed";
                converted.code = Some(code);
                converted.message = Some(message);
            }
            sdk::JobEvent::Cancelled { .. } => converted.kind = "cancelled",
            sdk::JobEvent::Warning { message, .. } => {
                converted.kind = "warning";
                converted.message = Some(message);
            }
            _ => {}
        }
        Ok(converted)
    }

    pub(crate) fn is_terminal(&self) -> bool {
        matches!(self.kind, "finished" | "failed" | "cancelled")
    }

    pub(crate) fn kind(&self) -> &'static str {
        self.kind
    }

    pub(crate) fn generation(&self) -> Option<&Py<Generation>> {
        self.generation.as_ref()
    }

    pub(crate) fn error_kind(&self) -> Option<sdk::ErrorKind> {
        self.error_kind
    }

    pub(crate) fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

#[pymethods]
impl Event {
    /// The result (finished events only).
    #[getter(generation)]
    fn py_generation(&self, py: Python<'_>) -> Option<Py<Generation>> {
        self.generation.as_ref().map(|generation| generation.clone_ref(py))
    }

    fn __repr__(&self) -> String {
        match self.kind {
            "queued" => format!("<Event queued job={} position={}>", self.job_id, self.position.unwrap_or(0)),
            "progress" => format!(
                "<Event progress job={} stage={} fraction={:.3}>",
                self.job_id,
                self.stage.unwrap_or(""),
                self.fraction.unwrap_or(0.0)
            ),
            "failed" => {
                format!("<Event failed job={} message={:?}>", self.job_id, self.message.as_deref().unwrap_or(""))
            }
            kind => format!("<Event {kind} job={}>", self.job_id),
        }
    }
}

/// A finished generation: the files written and the generation record.
#[pyclass(frozen, module = "threedgpt")]
pub(crate) struct Generation {
    /// Its id in the history, or None when the history is off.
    #[pyo3(get)]
    id: Option<String>,
    /// The job that made it.
    #[pyo3(get)]
    job_id: String,
    /// Every file written, the main file last (glTF and OBJ come with side files).
    #[pyo3(get)]
    files: Vec<String>,
    /// The main file, or None when the asset was kept in the history only.
    #[pyo3(get)]
    path: Option<String>,
    /// Triangle count.
    #[pyo3(get)]
    faces: Option<u64>,
    /// Vertex count.
    #[pyo3(get)]
    vertices: Option<u64>,
    /// Whether the mesh is closed and 2-manifold.
    #[pyo3(get)]
    watertight: Option<bool>,
    /// What to know about the result (it could not be kept in the history, the face target was
    /// missed), for people; each is also issued as a `ThreeDGptWarning`.
    #[pyo3(get)]
    warnings: Vec<String>,
    record_json: String,
}

impl Generation {
    pub(crate) fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn new(
        job_id: String,
        record: &serde_json::Value,
        files: Vec<std::path::PathBuf>,
        generation_id: Option<String>,
        warnings: Vec<String>,
    ) -> Generation {
        let files: Vec<String> = files.into_iter().map(|file| file.display().to_string()).collect();
        Generation {
            warnings,
            id: generation_id,
            job_id,
            path: files.last().cloned(),
            files,
            faces: record_number(record, "faces"),
            vertices: record_number(record, "vertices"),
            watertight: record.get("watertight").and_then(serde_json::Value::as_bool),
            record_json: record.to_string(),
        }
    }
}

#[pymethods]
impl Generation {
    /// The generation record: model, options, counts, size in metres, timings.
    #[getter]
    fn record(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        record_dict(py, &self.record_json)
    }

    fn __repr__(&self) -> String {
        let place = self.path.as_deref().or(self.id.as_deref()).unwrap_or("");
        format!("<Generation {place} faces={}>", self.faces.unwrap_or(0))
    }
}

/// A generation kept in the history.
#[pyclass(frozen, module = "threedgpt")]
pub(crate) struct HistoryEntry {
    /// Its id.
    #[pyo3(get)]
    id: String,
    /// When it was made, in seconds since the Unix epoch (pass to `datetime.fromtimestamp`).
    #[pyo3(get)]
    created: f64,
    /// The picture's name.
    #[pyo3(get)]
    source: String,
    /// Triangle count.
    #[pyo3(get)]
    faces: Option<u64>,
    /// The device it was made on when another one signed in to the account; "" for this one.
    #[pyo3(get)]
    device: String,
    /// Whether its files are on this device (False once removed from this device only).
    #[pyo3(get)]
    on_this_device: bool,
    record_json: String,
}

impl HistoryEntry {
    pub(crate) fn from_sdk(entry: sdk::HistoryEntry) -> HistoryEntry {
        HistoryEntry {
            faces: record_number(&entry.record, "faces"),
            record_json: entry.record.to_string(),
            id: entry.id,
            created: entry.created_unix_ms as f64 / 1000.0,
            source: entry.source,
            device: entry.device,
            on_this_device: entry.on_this_device,
        }
    }
}

#[pymethods]
impl HistoryEntry {
    /// The generation record.
    #[getter]
    fn record(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        record_dict(py, &self.record_json)
    }

    fn __repr__(&self) -> String {
        format!("<HistoryEntry {} source={:?}>", self.id, self.source)
    }
}

/// A job in the daemon's list.
#[pyclass(frozen, get_all, module = "threedgpt")]
pub(crate) struct JobInfo {
    /// The job.
    id: String,
    /// "queued", "running", "finished", "failed" or "cancelled".
    state: &'static str,
    /// The picture's name.
    source: String,
    /// Place in the queue, while queued.
    position: Option<u32>,
    /// Share done.
    fraction: f32,
    /// Why it failed.
    error: Option<String>,
}

impl JobInfo {
    pub(crate) fn from_sdk(job: sdk::JobSummary) -> JobInfo {
        JobInfo {
            id: job.job_id,
            state: job.state.name(),
            source: job.source,
            position: job.position,
            fraction: job.fraction,
            error: job.error,
        }
    }
}

#[pymethods]
impl JobInfo {
    fn __repr__(&self) -> String {
        format!("<JobInfo {} {} {:.0}%>", self.id, self.state, self.fraction * 100.0)
    }
}

/// A reconstruction model the daemon knows.
#[pyclass(frozen, get_all, module = "threedgpt")]
pub(crate) struct Model {
    /// Its name, to pass as `model=`.
    name: String,
    /// "builtin", "segmentation", "depth" or "triplane".
    kind: String,
    /// Whether it can run now.
    installed: bool,
    /// Size of its files.
    size_bytes: u64,
    /// Where it runs.
    provider: String,
    /// One line about it.
    description: String,
}

impl Model {
    pub(crate) fn from_sdk(model: sdk::ModelInfo) -> Model {
        Model {
            name: model.name,
            kind: model.kind,
            installed: model.installed,
            size_bytes: model.size_bytes,
            provider: model.provider,
            description: model.description,
        }
    }
}

#[pymethods]
impl Model {
    fn __repr__(&self) -> String {
        format!("<Model {} kind={} installed={}>", self.name, self.kind, self.installed)
    }
}

/// The daemon's settings.
#[pyclass(frozen, get_all, module = "threedgpt")]
pub(crate) struct Settings {
    /// Whether generations are kept in the history.
    history_enabled: bool,
    /// Whether a history can be kept at all (its encryption key is available).
    history_available: bool,
    /// Where the history lives, or why it is unavailable.
    history_status: String,
    /// Upload generations to the account and bring other devices' here.
    sync: bool,
    /// Send anonymous usage events.
    telemetry: bool,
    /// Allow generations to be used to train models.
    training_consent: bool,
    /// Product news by email.
    marketing_email: bool,
    /// "account" when signed in (sync, telemetry, consent and email are the account's), else "device".
    scope: String,
    /// What background "auto" uses: "auto", "builtin" or a segmentation model's name.
    segmentation: String,
}

impl Settings {
    pub(crate) fn from_sdk(settings: sdk::Settings) -> Settings {
        Settings {
            history_enabled: settings.history_enabled,
            history_available: settings.history_available,
            history_status: settings.history_status,
            sync: settings.sync,
            telemetry: settings.telemetry,
            training_consent: settings.training_consent,
            marketing_email: settings.marketing_email,
            scope: settings.scope,
            segmentation: settings.segmentation,
        }
    }
}

#[pymethods]
impl Settings {
    fn __repr__(&self) -> String {
        format!("<Settings history_enabled={}>", self.history_enabled)
    }
}

/// This device's account on a cloud service, as the daemon knows it.
#[pyclass(frozen, get_all, module = "threedgpt")]
pub(crate) struct AccountStatus {
    /// Whether this device is signed in.
    signed_in: bool,
    /// The service's base URL.
    server: String,
    /// The account's id.
    account_id: String,
    /// Its email.
    email: String,
    /// Its name.
    name: String,
    /// "free" or "pro".
    tier: String,
    /// Whether the email is verified.
    email_verified: bool,
    /// This device's name in the account's session list.
    device_name: String,
    /// A fingerprint of the account's data key (equal on every device signed in; never the key).
    data_key_check: String,
    /// Why the service was not asked (offline) or why the session ended.
    message: String,
    /// Synced bytes (sealed), as last read.
    bytes_used: u64,
    /// The tier's limit of synced bytes.
    bytes_limit: u64,
    /// Synced generations.
    generations: u64,
    /// The tier's limit of synced generations.
    generations_limit: u64,
}

impl AccountStatus {
    pub(crate) fn from_sdk(status: sdk::AccountStatus) -> AccountStatus {
        AccountStatus {
            bytes_used: status.bytes_used,
            bytes_limit: status.bytes_limit,
            generations: status.generations,
            generations_limit: status.generations_limit,
            signed_in: status.signed_in,
            server: status.server,
            account_id: status.account_id,
            email: status.email,
            name: status.name,
            tier: status.tier,
            email_verified: status.email_verified,
            device_name: status.device_name,
            data_key_check: status.data_key_check,
            message: status.message,
        }
    }
}

#[pymethods]
impl AccountStatus {
    fn __repr__(&self) -> String {
        if self.signed_in {
            format!("<AccountStatus {} on {} ({})>", self.email, self.server, self.tier)
        } else {
            "<AccountStatus signed out>".to_owned()
        }
    }
}

/// Where sync with the account stands.
#[pyclass(frozen, get_all, module = "threedgpt")]
pub(crate) struct SyncStatus {
    /// "signed_out", "off", "syncing", "idle", "paused" (the quota is full), "offline", "error" or
    /// "unavailable" (no history).
    state: String,
    /// Why it is off, paused, offline or failed.
    message: String,
    /// When a round last finished, in seconds since the Unix epoch; None for never.
    last_sync: Option<f64>,
    /// Generations waiting to be uploaded.
    pending_uploads: u64,
    /// Deletions waiting to be sent.
    pending_deletes: u64,
    /// Generations uploaded since the daemon started.
    uploaded: u64,
    /// Generations from other devices brought here since the daemon started.
    downloaded: u64,
    /// Local copies removed because the account deleted them, since the daemon started.
    removed: u64,
}

impl SyncStatus {
    pub(crate) fn from_sdk(status: sdk::SyncStatus) -> SyncStatus {
        SyncStatus {
            last_sync: (status.last_sync_unix_ms > 0).then(|| status.last_sync_unix_ms as f64 / 1000.0),
            state: status.state,
            message: status.message,
            pending_uploads: status.pending_uploads,
            pending_deletes: status.pending_deletes,
            uploaded: status.uploaded,
            downloaded: status.downloaded,
            removed: status.removed,
        }
    }
}

#[pymethods]
impl SyncStatus {
    fn __repr__(&self) -> String {
        format!("<SyncStatus {} pending_uploads={}>", self.state, self.pending_uploads)
    }
}

/// What the daemon says about itself.
#[pyclass(frozen, get_all, module = "threedgpt")]
pub(crate) struct DaemonInfo {
    /// The daemon's version.
    version: String,
    /// The API version it speaks.
    api_version: String,
    /// Devices found (CPU, GPUs).
    devices: Vec<String>,
    /// ONNX Runtime execution providers available.
    execution_providers: Vec<String>,
    /// Jobs waiting.
    queue_length: u32,
    /// Jobs running.
    running_jobs: u32,
    /// Where the history is stored.
    store_path: String,
    /// The socket it listens on.
    socket_path: String,
    /// Its process id.
    pid: u32,
    /// ONNX Runtime's library, when loaded.
    onnxruntime_path: Option<String>,
    /// ONNX Runtime's version, when loaded.
    onnxruntime_version: Option<String>,
    /// Where ONNX Runtime was loaded from, or why it is unavailable and how to install it.
    onnxruntime_status: String,
}

impl DaemonInfo {
    pub(crate) fn from_sdk(info: sdk::DaemonInfo) -> DaemonInfo {
        DaemonInfo {
            version: info.version,
            api_version: info.api_version,
            devices: info.devices,
            execution_providers: info.execution_providers,
            queue_length: info.queue_length,
            running_jobs: info.running_jobs,
            store_path: info.store_path.display().to_string(),
            socket_path: info.socket_path.display().to_string(),
            pid: info.pid,
            onnxruntime_path: info.onnxruntime.as_ref().map(|(path, _)| path.display().to_string()),
            onnxruntime_version: info.onnxruntime.map(|(_, version)| version),
            onnxruntime_status: info.onnxruntime_status,
        }
    }
}

#[pymethods]
impl DaemonInfo {
    fn __repr__(&self) -> String {
        format!("<DaemonInfo version={} pid={}>", self.version, self.pid)
    }
}

/// The daemon's option table as Python dicts and lists (see `Client.options`).
pub(crate) fn option_table<'py>(py: Python<'py>, table: &sdk::OptionTable) -> PyResult<Bound<'py, PyDict>> {
    let options = pyo3::types::PyList::empty(py);
    for option in &table.options {
        let entry = PyDict::new(py);
        entry.set_item("name", &option.name)?;
        entry.set_item("flag", &option.flag)?;
        entry.set_item("label", &option.label)?;
        entry.set_item("description", &option.description)?;
        match &option.kind {
            sdk::OptionKind::Int { default, min, max, allowed } => {
                entry.set_item("kind", "int")?;
                entry.set_item("default", default)?;
                entry.set_item("min", min)?;
                entry.set_item("max", max)?;
                entry.set_item("allowed", allowed.clone())?;
            }
            sdk::OptionKind::Float { default, min, max } => {
                entry.set_item("kind", "float")?;
                entry.set_item("default", shortest(*default))?;
                entry.set_item("min", shortest(*min))?;
                entry.set_item("max", shortest(*max))?;
            }
            sdk::OptionKind::Choice { default, choices, models } => {
                entry.set_item("kind", "choice")?;
                entry.set_item("default", default)?;
                entry.set_item("choices", choices.clone())?;
                entry.set_item("models", models.clone())?;
            }
            _ => {
                entry.set_item("kind", "flag")?;
                entry.set_item("default", false)?;
            }
        }
        options.append(entry)?;
    }
    let models = PyDict::new(py);
    for (role, names) in &table.roles {
        models.set_item(role, names.clone())?;
    }
    let result = PyDict::new(py);
    result.set_item("options", options)?;
    result.set_item("models", models)?;
    Ok(result)
}

/// A `f32` as the `float` that prints the same (0.85, not 0.8500000238418579).
fn shortest(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}
