//! The SDK's own types for requests and events, so no gRPC type leaks into clients.

use std::path::PathBuf;
use std::time::Duration;

use threedgpt_proto::v1;

/// Where the image comes from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ImageSource {
    /// A file the daemon reads directly (it runs as the same user).
    Path(PathBuf),
    /// The image's bytes, streamed to the daemon in chunks.
    Bytes {
        /// A name for records and errors, such as the file name.
        name: String,
        /// The encoded image.
        bytes: Vec<u8>,
    },
}

/// How the object is separated from the background.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub enum Background {
    /// The alpha channel, else automatic removal of a plain background.
    #[default]
    Auto,
    /// The whole picture is the object.
    Keep,
    /// The built-in removal of a plain background, even when the picture has transparency.
    Builtin,
    /// An installed segmentation model, by name, finds the object.
    Model(String),
    /// A mask image's bytes (white or opaque = object).
    Mask(Vec<u8>),
}

impl Background {
    /// The choice a name makes, as every client spells it: `auto`, `keep`, `builtin`, or else the
    /// name of an installed segmentation model.
    pub fn from_name(name: &str) -> Background {
        match name.to_ascii_lowercase().as_str() {
            "auto" => Background::Auto,
            "keep" => Background::Keep,
            "builtin" => Background::Builtin,
            _ => Background::Model(name.to_owned()),
        }
    }
}

/// Where a learned model runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Device {
    /// The GPU when one is usable, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The GPU, or an error when none is usable.
    Gpu,
}

impl Device {
    /// Every device choice.
    pub const ALL: [Device; 3] = [Device::Auto, Device::Cpu, Device::Gpu];

    /// The name the CLI and the Python module use.
    pub fn name(self) -> &'static str {
        match self {
            Device::Auto => "auto",
            Device::Cpu => "cpu",
            Device::Gpu => "gpu",
        }
    }

    /// The choice with this name, if any.
    pub fn from_name(name: &str) -> Option<Device> {
        Device::ALL.into_iter().find(|device| device.name().eq_ignore_ascii_case(name))
    }

    fn to_proto(self) -> v1::Device {
        match self {
            Device::Auto => v1::Device::Auto,
            Device::Cpu => v1::Device::Cpu,
            Device::Gpu => v1::Device::Gpu,
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Binary glTF.
    Glb,
    /// glTF with side files.
    Gltf,
    /// OBJ with MTL and texture.
    Obj,
    /// Binary STL.
    Stl,
    /// Binary PLY.
    Ply,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 5] = [Format::Glb, Format::Gltf, Format::Obj, Format::Stl, Format::Ply];

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Glb => "glb",
            Format::Gltf => "gltf",
            Format::Obj => "obj",
            Format::Stl => "stl",
            Format::Ply => "ply",
        }
    }

    /// The format an extension names, case-insensitive.
    pub fn from_extension(extension: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|format| format.extension().eq_ignore_ascii_case(extension))
    }

    pub(crate) fn to_proto(self) -> v1::Format {
        match self {
            Format::Glb => v1::Format::Glb,
            Format::Gltf => v1::Format::Gltf,
            Format::Obj => v1::Format::Obj,
            Format::Stl => v1::Format::Stl,
            Format::Ply => v1::Format::Ply,
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.extension())
    }
}

/// An unknown format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format {0:?}; use one of glb, gltf, obj, stl, ply")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(name: &str) -> std::result::Result<Self, Self::Err> {
        Format::from_extension(name).ok_or_else(|| UnknownFormat(name.to_owned()))
    }
}

/// Options of a generation; `None` means the daemon's default.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct GenerateOptions {
    /// Target triangle count.
    pub faces: Option<u32>,
    /// Texture side in pixels.
    pub texture_size: Option<u32>,
    /// Share of the frame the object fills.
    pub foreground_ratio: Option<f32>,
    /// How the object is found.
    pub background: Background,
    /// The solid the built-in reconstructor makes (`auto`, `relief`, `revolve`, `extrude`).
    pub shape: Option<String>,
    /// Depth scale.
    pub thickness: Option<f32>,
    /// Where the asset's origin sits (`bottom`, `center`).
    pub origin: Option<String>,
    /// Longest side in metres.
    pub size_m: Option<f32>,
    /// Reconstruction grid.
    pub grid: Option<u32>,
    /// Reconstructor name.
    pub model: Option<String>,
    /// An installed depth model that shapes the built-in reconstruction.
    pub depth: Option<String>,
    /// Where a learned model runs.
    pub device: Device,
    /// Output format; by default from the output's extension.
    pub format: Option<Format>,
    /// Byte-identical output for equal inputs.
    pub reproducible: bool,
}

impl GenerateOptions {
    /// Sets the target triangle count.
    pub fn with_faces(mut self, faces: u32) -> Self {
        self.faces = Some(faces);
        self
    }

    /// Sets the texture side.
    pub fn with_texture_size(mut self, texture_size: u32) -> Self {
        self.texture_size = Some(texture_size);
        self
    }

    /// Sets the foreground ratio.
    pub fn with_foreground_ratio(mut self, ratio: f32) -> Self {
        self.foreground_ratio = Some(ratio);
        self
    }

    /// Sets how the object is found.
    pub fn with_background(mut self, background: Background) -> Self {
        self.background = background;
        self
    }

    /// Chooses the solid the built-in reconstructor makes.
    pub fn with_shape(mut self, shape: impl Into<String>) -> Self {
        self.shape = Some(shape.into());
        self
    }

    /// Chooses where the asset's origin sits.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Sets the depth scale.
    pub fn with_thickness(mut self, thickness: f32) -> Self {
        self.thickness = Some(thickness);
        self
    }

    /// Sets the longest side in metres.
    pub fn with_size_m(mut self, size_m: f32) -> Self {
        self.size_m = Some(size_m);
        self
    }

    /// Sets the reconstruction grid.
    pub fn with_grid(mut self, grid: u32) -> Self {
        self.grid = Some(grid);
        self
    }

    /// Chooses the reconstructor.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Chooses a depth model.
    pub fn with_depth(mut self, depth: impl Into<String>) -> Self {
        self.depth = Some(depth.into());
        self
    }

    /// Chooses where a learned model runs.
    pub fn with_device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// Chooses the output format.
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Asks for byte-identical output.
    pub fn with_reproducible(mut self, reproducible: bool) -> Self {
        self.reproducible = reproducible;
        self
    }

    pub(crate) fn to_proto(&self) -> v1::GenerateOptions {
        let (background, mask, background_model) = match &self.background {
            Background::Auto => (v1::Background::Auto, Vec::new(), String::new()),
            Background::Keep => (v1::Background::Keep, Vec::new(), String::new()),
            Background::Builtin => (v1::Background::Builtin, Vec::new(), String::new()),
            Background::Model(name) => (v1::Background::Auto, Vec::new(), name.clone()),
            Background::Mask(bytes) => (v1::Background::Mask, bytes.clone(), String::new()),
        };
        v1::GenerateOptions {
            faces: self.faces,
            texture_size: self.texture_size,
            foreground_ratio: self.foreground_ratio,
            background: background as i32,
            mask,
            thickness: self.thickness,
            size_m: self.size_m,
            grid: self.grid,
            model: self.model.clone().unwrap_or_default(),
            device: self.device.to_proto() as i32,
            format: self.format.map_or(v1::Format::Unspecified, Format::to_proto) as i32,
            reproducible: self.reproducible,
            background_model,
            depth_model: self.depth.clone().unwrap_or_default(),
            shape: self.shape.clone().unwrap_or_default(),
            origin: self.origin.clone().unwrap_or_default(),
        }
    }
}

/// The daemon's generate options (`Client::options`): what an editor's panel offers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OptionTable {
    /// Every option, in the order to show them.
    pub options: Vec<OptionInfo>,
    /// The installed models of each role (`reconstructor`, `segmentation`, `depth`).
    pub roles: Vec<(String, Vec<String>)>,
}

impl OptionTable {
    /// The table this SDK was built with, with no installed models: what a daemon of the same
    /// version serves (ask a running one with `Client::options`).
    pub fn compiled() -> OptionTable {
        OptionTable::from_proto(threedgpt_proto::option_table(&[]))
    }

    /// The option with this name.
    pub fn get(&self, name: &str) -> Option<&OptionInfo> {
        self.options.iter().find(|option| option.name == name)
    }

    /// The installed models of a role.
    pub fn models(&self, role: &str) -> &[String] {
        self.roles.iter().find(|(name, _)| name == role).map_or(&[], |(_, models)| models.as_slice())
    }

    pub(crate) fn from_proto(response: v1::OptionsResponse) -> OptionTable {
        use v1::option_spec::Kind as Wire;
        let options = response
            .options
            .into_iter()
            .map(|option| OptionInfo {
                kind: match option.kind {
                    Some(Wire::Int(range)) => OptionKind::Int {
                        default: range.default,
                        min: range.min,
                        max: range.max,
                        allowed: range.allowed,
                    },
                    Some(Wire::Float(range)) => {
                        OptionKind::Float { default: range.default, min: range.min, max: range.max }
                    }
                    Some(Wire::Choice(choice)) => OptionKind::Choice {
                        default: choice.default,
                        choices: choice.choices.into_iter().map(|choice| (choice.name, choice.description)).collect(),
                        models: (!choice.models.is_empty()).then_some(choice.models),
                    },
                    Some(Wire::FlagOption(_)) | None => OptionKind::Flag,
                },
                name: option.name,
                flag: option.flag,
                label: option.label,
                description: option.description,
            })
            .collect();
        let roles = response.roles.into_iter().map(|role| (role.role, role.models)).collect();
        OptionTable { options, roles }
    }
}

/// One generate option as the daemon describes it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OptionInfo {
    /// Its name (the Python keyword).
    pub name: String,
    /// The CLI's flag, without the dashes.
    pub flag: String,
    /// The label in a panel.
    pub label: String,
    /// What it does, in one line.
    pub description: String,
    /// Its values.
    pub kind: OptionKind,
}

/// The values an option takes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OptionKind {
    /// A whole number.
    Int {
        /// Used when unset.
        default: u32,
        /// The smallest accepted.
        min: u32,
        /// The largest accepted.
        max: u32,
        /// When not empty, only these are accepted.
        allowed: Vec<u32>,
    },
    /// A number.
    Float {
        /// Used when unset.
        default: f32,
        /// The smallest accepted.
        min: f32,
        /// The largest accepted.
        max: f32,
    },
    /// A name.
    Choice {
        /// Used when unset; empty for none.
        default: String,
        /// The fixed choices: name and description.
        choices: Vec<(String, String)>,
        /// When set, an installed model of this role may be named too.
        models: Option<String>,
    },
    /// On or off, off by default.
    Flag,
}

/// One generation to run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GenerateRequest {
    /// The picture.
    pub image: ImageSource,
    /// Where the asset goes (made absolute against the current folder); empty keeps it in the
    /// history only.
    pub output: PathBuf,
    /// Options.
    pub options: GenerateOptions,
    /// Keep running if this client goes away.
    pub detach: bool,
    /// Pictures from the object's other sides: `right`, `back`, `left` or `top` (where the camera
    /// went, seen from the front), at most one each.
    pub views: Vec<(String, ImageSource)>,
    /// The picture is a turnaround sheet: front, right, back and left side by side.
    pub sheet: bool,
}

impl GenerateRequest {
    /// A request with default options.
    pub fn new(image: ImageSource, output: impl Into<PathBuf>) -> Self {
        Self {
            image,
            output: output.into(),
            options: GenerateOptions::default(),
            detach: false,
            views: Vec::new(),
            sheet: false,
        }
    }

    /// Adds a picture from another side (`right`, `back`, `left` or `top`); the daemon checks the
    /// name. Bytes go whole in the first message, so a picture of more than a few MiB is best given
    /// by path.
    pub fn with_view(mut self, side: impl Into<String>, image: ImageSource) -> Self {
        self.views.push((side.into(), image));
        self
    }

    /// Says the picture is a turnaround sheet (front, right, back, left side by side).
    pub fn with_sheet(mut self, sheet: bool) -> Self {
        self.sheet = sheet;
        self
    }

    /// A request whose asset is kept only in the daemon's history (download it from there). With
    /// the history off, the daemon holds the asset in memory, never listed, until it is downloaded
    /// or exported once (or 10 minutes pass); `Finished::generation_id` names it either way.
    pub fn into_history(image: ImageSource) -> Self {
        Self::new(image, PathBuf::new())
    }

    /// Sets the options.
    pub fn with_options(mut self, options: GenerateOptions) -> Self {
        self.options = options;
        self
    }

    /// Keeps the job running when the client disconnects.
    pub fn with_detach(mut self, detach: bool) -> Self {
        self.detach = detach;
        self
    }
}

/// The stages of a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Reading the image.
    Decode,
    /// Finding the object.
    Foreground,
    /// Building the shape.
    Reconstruct,
    /// Simplifying the mesh.
    Mesh,
    /// Baking the texture.
    Texture,
    /// Writing files.
    Export,
}

impl Stage {
    /// The stage's name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Foreground => "foreground",
            Stage::Reconstruct => "reconstruct",
            Stage::Mesh => "mesh",
            Stage::Texture => "texture",
            Stage::Export => "export",
        }
    }

    fn from_proto(value: i32) -> Stage {
        match v1::Stage::try_from(value).unwrap_or_default() {
            v1::Stage::Foreground => Stage::Foreground,
            v1::Stage::Reconstruct => Stage::Reconstruct,
            v1::Stage::Mesh => Stage::Mesh,
            v1::Stage::Texture => Stage::Texture,
            v1::Stage::Export => Stage::Export,
            _ => Stage::Decode,
        }
    }
}

/// Something that happened to a job.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum JobEvent {
    /// Waiting; position 1 runs next.
    Queued {
        /// The job.
        job_id: String,
        /// Place in the queue.
        position: u32,
    },
    /// Running.
    Started {
        /// The job.
        job_id: String,
        /// Where it runs ("cpu").
        device: String,
        /// What finds the object: a segmentation model's name, or "builtin".
        background: String,
    },
    /// Progress.
    Progress {
        /// The job.
        job_id: String,
        /// The stage.
        stage: Stage,
        /// Share of the stage done.
        stage_fraction: f32,
        /// Share of the job done.
        fraction: f32,
        /// Estimated time left.
        eta: Option<Duration>,
    },
    /// Done; the files are written.
    Finished {
        /// The job.
        job_id: String,
        /// The generation record.
        record: serde_json::Value,
        /// Files written, the main file last.
        files: Vec<PathBuf>,
        /// The generation's id in the history, or of a result held until downloaded (no output
        /// path with the history off); `None` when the asset went to the output path only.
        generation_id: Option<String>,
        /// What the user should know about the result (it could not be kept in the history, the
        /// face target could not be met), for people.
        warnings: Vec<String>,
    },
    /// Failed.
    Failed {
        /// The job.
        job_id: String,
        /// The kind of failure, to branch on.
        kind: crate::ErrorKind,
        /// The gRPC code name of the failure kind, as older daemons sent it alone; use `kind`.
        code: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// Cancelled.
    Cancelled {
        /// The job.
        job_id: String,
    },
    /// Something to know while the job carries on (e.g. it moved from the GPU to the CPU).
    Warning {
        /// The job.
        job_id: String,
        /// For people.
        message: String,
    },
}

impl JobEvent {
    /// The job this event is about.
    pub fn job_id(&self) -> &str {
        match self {
            JobEvent::Queued { job_id, .. }
            | JobEvent::Started { job_id, .. }
            | JobEvent::Progress { job_id, .. }
            | JobEvent::Finished { job_id, .. }
            | JobEvent::Failed { job_id, .. }
            | JobEvent::Cancelled { job_id }
            | JobEvent::Warning { job_id, .. } => job_id,
        }
    }

    /// Whether the job has ended with this event.
    pub fn is_terminal(&self) -> bool {
        matches!(self, JobEvent::Finished { .. } | JobEvent::Failed { .. } | JobEvent::Cancelled { .. })
    }

    pub(crate) fn from_proto(event: v1::JobEvent) -> Option<JobEvent> {
        use v1::job_event::Kind;
        let job_id = event.job_id;
        Some(match event.kind? {
            Kind::Queued(queued) => JobEvent::Queued { job_id, position: queued.position },
            Kind::Started(started) => {
                JobEvent::Started { job_id, device: started.device, background: started.background }
            }
            Kind::Progress(progress) => JobEvent::Progress {
                job_id,
                stage: Stage::from_proto(progress.stage),
                stage_fraction: progress.stage_fraction,
                fraction: progress.fraction,
                eta: (progress.eta_ms > 0).then(|| Duration::from_millis(progress.eta_ms)),
            },
            Kind::Finished(finished) => JobEvent::Finished {
                job_id,
                record: serde_json::from_str(&finished.record_json).unwrap_or_default(),
                files: finished.files.into_iter().map(PathBuf::from).collect(),
                generation_id: (!finished.generation_id.is_empty()).then_some(finished.generation_id),
                warnings: finished.warnings,
            },
            Kind::Failed(failed) => JobEvent::Failed {
                job_id,
                kind: crate::ErrorKind::from_proto(failed.kind),
                code: failed.code,
                message: failed.message,
            },
            Kind::Cancelled(_) => JobEvent::Cancelled { job_id },
            Kind::Warning(warning) => JobEvent::Warning { job_id, message: warning.message },
        })
    }
}

/// A job's state in a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobState {
    /// Waiting.
    Queued,
    /// Running.
    Running,
    /// Done.
    Finished,
    /// Failed.
    Failed,
    /// Cancelled.
    Cancelled,
}

impl JobState {
    /// The state's name.
    pub fn name(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Finished => "finished",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// A job in a listing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobSummary {
    /// The job.
    pub job_id: String,
    /// Its state.
    pub state: JobState,
    /// The image's name.
    pub source: String,
    /// Queue position while queued.
    pub position: Option<u32>,
    /// Share done.
    pub fraction: f32,
    /// Failure message.
    pub error: Option<String>,
}

impl JobSummary {
    pub(crate) fn from_proto(summary: v1::JobSummary) -> JobSummary {
        let state = match v1::JobState::try_from(summary.state).unwrap_or_default() {
            v1::JobState::Running => JobState::Running,
            v1::JobState::Finished => JobState::Finished,
            v1::JobState::Failed => JobState::Failed,
            v1::JobState::Cancelled => JobState::Cancelled,
            _ => JobState::Queued,
        };
        JobSummary {
            job_id: summary.job_id,
            state,
            source: summary.source,
            position: (summary.position > 0).then_some(summary.position),
            fraction: summary.fraction,
            error: (!summary.error.is_empty()).then_some(summary.error),
        }
    }
}

/// What the daemon says about itself.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DaemonInfo {
    /// Daemon version.
    pub version: String,
    /// API version.
    pub api_version: String,
    /// Devices found.
    pub devices: Vec<String>,
    /// Execution providers for neural models.
    pub execution_providers: Vec<String>,
    /// Jobs waiting.
    pub queue_length: u32,
    /// Jobs running.
    pub running_jobs: u32,
    /// Where it keeps data.
    pub store_path: PathBuf,
    /// Its socket.
    pub socket_path: PathBuf,
    /// Its process id.
    pub pid: u32,
    /// ONNX Runtime's library and version, when loaded.
    pub onnxruntime: Option<(PathBuf, String)>,
    /// Where ONNX Runtime was loaded from, or why it is unavailable and how to install it.
    pub onnxruntime_status: String,
}

/// A reconstruction model.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ModelInfo {
    /// Name, as `GenerateOptions::model` takes it.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Whether its files are present.
    pub installed: bool,
    /// Size of its files.
    pub size_bytes: u64,
    /// Where it runs.
    pub provider: String,
    /// One line about it.
    pub description: String,
    /// Its licence (SPDX).
    pub license: String,
    /// It is in the daemon's catalog: [`Client::install_catalog_model`] installs it by name.
    ///
    /// [`Client::install_catalog_model`]: crate::Client::install_catalog_model
    pub in_catalog: bool,
}

/// A model installed in the daemon's store.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InstalledModel {
    /// Its name.
    pub name: String,
    /// Its kind: segmentation, depth or triplane.
    pub kind: String,
    /// Size of its files.
    pub size_bytes: u64,
    /// How many files it has.
    pub files: u32,
    /// The folder it is installed in.
    pub folder: PathBuf,
}

impl InstalledModel {
    pub(crate) fn from_proto(model: v1::InstalledModel) -> InstalledModel {
        InstalledModel {
            name: model.name,
            kind: model.kind,
            size_bytes: model.size_bytes,
            files: model.files,
            folder: model.folder.into(),
        }
    }
}

/// A generation kept in the daemon's history.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// Its id.
    pub id: String,
    /// When it was made, milliseconds since the Unix epoch.
    pub created_unix_ms: i64,
    /// The image's name.
    pub source: String,
    /// The generation record.
    pub record: serde_json::Value,
    /// The device it was made on when another one signed in to the account; empty for this one.
    pub device: String,
    /// Whether its files are on this device (false once removed from this device only: they
    /// download again on first use).
    pub on_this_device: bool,
}

impl HistoryEntry {
    pub(crate) fn from_proto(generation: v1::Generation) -> HistoryEntry {
        HistoryEntry {
            id: generation.id,
            created_unix_ms: generation.created_unix_ms,
            source: generation.source,
            record: serde_json::from_str(&generation.record_json).unwrap_or_default(),
            device: generation.device,
            on_this_device: !generation.elsewhere,
        }
    }
}

/// One of the account's sessions: a device signed in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountSession {
    /// The session's id.
    pub id: String,
    /// The device's name.
    pub device_name: String,
    /// Its operating system.
    pub os: String,
    /// When it signed in, Unix seconds.
    pub created_at: i64,
    /// When it was last seen, Unix seconds.
    pub last_seen_at: i64,
    /// This device's own.
    pub current: bool,
}

/// What a delete did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Deleted {
    /// How many generations were deleted here (0 or 1 for one).
    pub count: u32,
    /// Signed in: deleted from the account and every device too.
    pub everywhere: bool,
}

/// Where sync with the account stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncStatus {
    /// `signed_out`, `off`, `syncing`, `idle`, `paused` (the quota is full), `offline`, `error` or
    /// `unavailable` (no history).
    pub state: String,
    /// Why it is off, paused, offline or failed.
    pub message: String,
    /// When a round last finished, milliseconds since the Unix epoch; 0 for never.
    pub last_sync_unix_ms: i64,
    /// Generations waiting to be uploaded.
    pub pending_uploads: u64,
    /// Deletions waiting to be sent.
    pub pending_deletes: u64,
    /// Generations uploaded since the daemon started.
    pub uploaded: u64,
    /// Generations from other devices brought here since the daemon started.
    pub downloaded: u64,
    /// Local copies removed because the account deleted them, since the daemon started.
    pub removed: u64,
}

impl SyncStatus {
    pub(crate) fn from_proto(report: v1::SyncReport) -> SyncStatus {
        SyncStatus {
            state: report.state,
            message: report.message,
            last_sync_unix_ms: report.last_sync_unix_ms,
            pending_uploads: report.pending_uploads,
            pending_deletes: report.pending_deletes,
            uploaded: report.uploaded,
            downloaded: report.downloaded,
            removed: report.removed,
        }
    }
}

/// A change to some settings; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingsUpdate {
    /// Keep a history of generations (this device's own setting).
    pub history_enabled: Option<bool>,
    /// Sync with the account.
    pub sync: Option<bool>,
    /// Send anonymous usage events.
    pub telemetry: Option<bool>,
    /// Allow generations to be used to train models.
    pub training_consent: Option<bool>,
    /// Product news by email.
    pub marketing_email: Option<bool>,
    /// What `background` "auto" uses: "auto", "builtin" or a segmentation model's name.
    pub segmentation: Option<String>,
}

impl SettingsUpdate {
    /// The change of one setting by its name (`history`, `sync`, `telemetry`, `training_consent`,
    /// `marketing_email`); `None` for an unknown name.
    pub fn one(name: &str, value: bool) -> Option<SettingsUpdate> {
        let mut update = SettingsUpdate::default();
        let slot = match name {
            "history" | "history_enabled" => &mut update.history_enabled,
            "sync" => &mut update.sync,
            "telemetry" => &mut update.telemetry,
            "training_consent" => &mut update.training_consent,
            "marketing_email" => &mut update.marketing_email,
            _ => return None,
        };
        *slot = Some(value);
        Some(update)
    }

    /// The change of the `segmentation` setting: "auto", "builtin" or a segmentation model's name.
    pub fn segmentation(value: &str) -> SettingsUpdate {
        SettingsUpdate { segmentation: Some(value.to_owned()), ..SettingsUpdate::default() }
    }
}

/// A page of the history.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HistoryPage {
    /// Generations, newest first.
    pub entries: Vec<HistoryEntry>,
    /// How many there are in all.
    pub total: u32,
    /// Pass to the next call for the following page; `None` after the last.
    pub next_page: Option<String>,
}

/// One of a generation's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Artifact {
    /// The asset as GLB.
    Asset,
    /// The picture it was made from.
    Input,
    /// A PNG of the model from the front.
    Thumbnail,
}

impl Artifact {
    pub(crate) fn to_proto(self) -> v1::Artifact {
        match self {
            Artifact::Asset => v1::Artifact::Asset,
            Artifact::Input => v1::Artifact::Input,
            Artifact::Thumbnail => v1::Artifact::Thumbnail,
        }
    }
}

/// The daemon's settings.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// Keep a history of generations.
    pub history_enabled: bool,
    /// Whether a history can be kept at all (its key is available).
    pub history_available: bool,
    /// Where the history lives, or why it is unavailable.
    pub history_status: String,
    /// Upload generations to the account and bring other devices' here.
    pub sync: bool,
    /// Send anonymous usage events.
    pub telemetry: bool,
    /// Allow generations to be used to train models.
    pub training_consent: bool,
    /// Product news by email.
    pub marketing_email: bool,
    /// `account` when signed in (the four above are the account's, on every device), else `device`.
    pub scope: String,
    /// What `background` "auto" uses: "auto" (the best installed segmentation model, else the
    /// built-in removal), "builtin" or a segmentation model's name.
    pub segmentation: String,
}

impl Settings {
    pub(crate) fn from_proto(settings: v1::Settings) -> Settings {
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

/// What signing up for an account needs.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SignUpRequest {
    /// The cloud service's base URL.
    pub server: String,
    /// The email to sign in with.
    pub email: String,
    /// The name the account shows.
    pub name: String,
    /// YYYY-MM-DD: accounts are for people 13 and older.
    pub birth_date: String,
    /// The password (sent to the daemon only).
    pub password: String,
    /// How the session list names this device; empty for the host's name.
    pub device_name: String,
    /// ISO 3166-1 alpha-2 country, for the age of digital consent; empty when not given.
    pub country: String,
}

impl SignUpRequest {
    /// A request with these details and no device name or country.
    pub fn new(server: &str, email: &str, name: &str, birth_date: &str, password: &str) -> Self {
        Self {
            server: server.to_owned(),
            email: email.to_owned(),
            name: name.to_owned(),
            birth_date: birth_date.to_owned(),
            password: password.to_owned(),
            ..Self::default()
        }
    }

    /// Names this device.
    pub fn with_device_name(mut self, device_name: &str) -> Self {
        self.device_name = device_name.to_owned();
        self
    }
}

/// This device's account, as the daemon knows it.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct AccountStatus {
    /// Whether this device is signed in.
    pub signed_in: bool,
    /// The service's base URL.
    pub server: String,
    /// The account's id.
    pub account_id: String,
    /// Its email.
    pub email: String,
    /// Its name.
    pub name: String,
    /// `free` or `pro`.
    pub tier: String,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// This device's name in the session list.
    pub device_name: String,
    /// This device's session.
    pub session_id: String,
    /// A fingerprint of the account's data key (equal on every device signed in).
    pub data_key_check: String,
    /// Why the service was not asked (offline) or why the session ended.
    pub message: String,
    /// Synced bytes (sealed) and the tier's limit.
    pub bytes_used: u64,
    /// The tier's limit of synced bytes.
    pub bytes_limit: u64,
    /// Synced generations.
    pub generations: u64,
    /// The tier's limit of synced generations.
    pub generations_limit: u64,
}

impl AccountStatus {
    pub(crate) fn from_proto(status: v1::AccountStatus) -> AccountStatus {
        AccountStatus {
            signed_in: status.signed_in,
            server: status.server,
            account_id: status.account_id,
            email: status.email,
            name: status.name,
            tier: status.tier,
            email_verified: status.email_verified,
            device_name: status.device_name,
            session_id: status.session_id,
            data_key_check: status.data_key_check,
            message: status.message,
            bytes_used: status.bytes_used,
            bytes_limit: status.bytes_limit,
            generations: status.generations,
            generations_limit: status.generations_limit,
        }
    }
}
