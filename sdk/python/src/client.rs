//! `threedgpt.Client`: a connection to the user's daemon (started when none runs) and a method per
//! call of the API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict};
use threedgpt_sdk as sdk;

use crate::error::{self, InvalidInput};
use crate::job::{Job, outcome_result};
use crate::types::{AccountStatus, DaemonInfo, Event, Generation, HistoryEntry, JobInfo, Model, Settings, SyncStatus};
use crate::wait;

/// A connection to the 3D GPT daemon.
///
/// `Client()` connects to the user's daemon over its local socket and starts it (`3dgpt serve`)
/// when none runs. `Client(tcp="127.0.0.1:50570")` connects over loopback TCP with the token from
/// the daemon's `tcp-token` file (or `token=`). Clients are cheap; share one between threads.
#[pyclass(frozen, module = "threedgpt")]
pub(crate) struct Client {
    inner: sdk::Client,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (socket = None, *, tcp = None, token = None, autostart = true, daemon = None, start_timeout = 15.0))]
    fn new(
        py: Python<'_>,
        socket: Option<PathBuf>,
        tcp: Option<String>,
        token: Option<String>,
        autostart: bool,
        daemon: Option<PathBuf>,
        start_timeout: f64,
    ) -> PyResult<Client> {
        let mut options = sdk::ConnectOptions::default().with_autostart(autostart);
        if let Some(socket) = socket {
            options = options.with_socket_path(socket);
        }
        if let Some(daemon) = daemon {
            options = options.with_daemon_program(daemon);
        }
        if !(start_timeout.is_finite() && start_timeout > 0.0) {
            return Err(PyValueError::new_err("start_timeout must be a positive number of seconds"));
        }
        options.start_timeout = Duration::from_secs_f64(start_timeout.min(3600.0));
        if let Some(address) = tcp {
            let address: SocketAddr = address.parse().map_err(|_| {
                PyValueError::new_err(format!("tcp must be an address like 127.0.0.1:50570, not {address:?}"))
            })?;
            let token = match token {
                Some(token) => token,
                None => read_token()?,
            };
            options = options.with_tcp(address, token);
        }
        let inner = wait(py, sdk::Client::connect(&options))?.map_err(error::to_py)?;
        Ok(Client { inner })
    }

    /// Generates a 3D asset from `image` (a path or the image's bytes) and returns its
    /// `Generation`, blocking until it is done. `output` is the file to write (the format follows
    /// its extension); None keeps the asset in the daemon's history only (with the history off,
    /// the daemon holds it until it is downloaded once: `Generation.id` names it). `progress`, if
    /// given, is called with every `Event`; an exception it raises cancels the job and propagates.
    /// Options (see `Client.options()` for each one's default and range): faces, texture_size,
    /// foreground_ratio, background ("auto", "keep", "builtin" or a segmentation model), mask (path
    /// or bytes), shape ("auto", "relief", "revolve", "extrude"), thickness, origin ("bottom",
    /// "center"), size (metres), grid, model, depth, device, format, reproducible, name. Pictures
    /// from other sides carve the shape and texture what they see: right, left, back, top (each a
    /// path or bytes; `right` is taken after moving the camera 90° to your right around the object,
    /// `top` from above with the front at the bottom); sheet=True says `image` is a turnaround
    /// sheet (front, right, back, left side by side).
    #[pyo3(signature = (image, output = None, *, progress = None, **options))]
    fn generate(
        &self,
        py: Python<'_>,
        image: &Bound<'_, PyAny>,
        output: Option<PathBuf>,
        progress: Option<&Bound<'_, PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<Generation>> {
        let request = build_request(image, output, options, false)?;
        let stream = wait(py, self.inner.generate(request))?.map_err(error::to_py)?;
        let job = Job::start(py, self.inner.clone(), stream)?;
        let job = Py::new(py, job)?;
        let events = Job::events(job.clone_ref(py));
        loop {
            let Some(event) = events.__next__(py)? else { break };
            if let Some(callback) = progress
                && let Err(raised) = callback.call1((event.clone_ref(py),))
            {
                let _ = wait(py, self.inner.cancel(job.get().id()));
                return Err(raised);
            }
            let event: &Event = event.get();
            if event.is_terminal() {
                return outcome_result(py, job.get().id(), event);
            }
        }
        Err(error::ThreeDGptError::new_err("the job ended without a result"))
    }

    /// Queues a generation and returns its `Job` at once (same arguments as `generate`). With
    /// `detach=True` the job keeps running when this client goes away.
    #[pyo3(signature = (image, output = None, *, detach = false, **options))]
    fn submit(
        &self,
        py: Python<'_>,
        image: &Bound<'_, PyAny>,
        output: Option<PathBuf>,
        detach: bool,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Job> {
        let request = build_request(image, output, options, detach)?;
        let stream = wait(py, self.inner.generate(request))?.map_err(error::to_py)?;
        Job::start(py, self.inner.clone(), stream)
    }

    /// Re-attaches to a job by id (after a reconnect, or from another process).
    fn watch(&self, py: Python<'_>, job_id: &str) -> PyResult<Job> {
        let stream = wait(py, self.inner.watch(job_id))?.map_err(error::to_py)?;
        Job::start(py, self.inner.clone(), stream)
    }

    /// Cancels a job by id; False when it had already ended.
    fn cancel(&self, py: Python<'_>, job_id: &str) -> PyResult<bool> {
        wait(py, self.inner.cancel(job_id))?.map_err(error::to_py)
    }

    /// Queued, running and recently ended jobs.
    fn jobs(&self, py: Python<'_>) -> PyResult<Vec<JobInfo>> {
        let jobs = wait(py, self.inner.list_jobs())?.map_err(error::to_py)?;
        Ok(jobs.into_iter().map(JobInfo::from_sdk).collect())
    }

    /// The generations in the history, newest first, at most `limit` of them.
    #[pyo3(signature = (limit = 50))]
    fn history(&self, py: Python<'_>, limit: u32) -> PyResult<Vec<HistoryEntry>> {
        let mut entries = Vec::new();
        let mut page: Option<String> = None;
        while (entries.len() as u32) < limit {
            let size = (limit - entries.len() as u32).min(200);
            let result = wait(py, self.inner.history(size, page.as_deref()))?.map_err(error::to_py)?;
            entries.extend(result.entries.into_iter().map(HistoryEntry::from_sdk));
            match result.next_page {
                Some(next) => page = Some(next),
                None => break,
            }
        }
        entries.truncate(limit as usize);
        Ok(entries)
    }

    /// One generation from the history; raises `NotFound` when there is none with this id.
    fn get(&self, py: Python<'_>, id: &str) -> PyResult<HistoryEntry> {
        let entry = wait(py, self.inner.history_entry(id))?.map_err(error::to_py)?;
        Ok(HistoryEntry::from_sdk(entry))
    }

    /// The bytes of one of a generation's files: artifact "asset" (in `format`: glb, stl or ply),
    /// "input" (the picture) or "thumbnail" (a PNG of the model from the front).
    #[pyo3(signature = (id, artifact = "asset", format = "glb"))]
    fn download<'py>(&self, py: Python<'py>, id: &str, artifact: &str, format: &str) -> PyResult<Bound<'py, PyBytes>> {
        let artifact = match artifact {
            "asset" => sdk::Artifact::Asset,
            "input" => sdk::Artifact::Input,
            "thumbnail" => sdk::Artifact::Thumbnail,
            other => {
                return Err(PyValueError::new_err(format!(
                    "artifact must be \"asset\", \"input\" or \"thumbnail\", not {other:?}"
                )));
            }
        };
        let format = parse_format(format)?;
        let bytes = wait(py, self.inner.download_as(id, artifact, format))?.map_err(error::to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Writes a generation's asset to `path` in the format its extension names (glb, gltf, obj,
    /// stl, ply); returns the files written, the main file last.
    fn export(&self, py: Python<'_>, id: &str, path: PathBuf) -> PyResult<Vec<String>> {
        let files = wait(py, self.inner.export(id, &path))?.map_err(error::to_py)?;
        Ok(files.into_iter().map(|file| file.display().to_string()).collect())
    }

    /// Deletes a generation and its files from the history (signed in: on every device); False
    /// when there was none. With `this_device=True`, removes only this device's copy of one the
    /// account holds: it stays listed, and its files download again on first use.
    #[pyo3(signature = (id, *, this_device = false))]
    fn delete(&self, py: Python<'_>, id: &str, this_device: bool) -> PyResult<bool> {
        if this_device {
            return wait(py, self.inner.delete_here(id))?.map(|()| true).map_err(error::to_py);
        }
        wait(py, self.inner.delete(id))?.map(|deleted| deleted.count > 0).map_err(error::to_py)
    }

    /// Deletes the whole history; returns how many generations it held.
    fn delete_all(&self, py: Python<'_>) -> PyResult<u32> {
        wait(py, self.inner.delete_all())?.map(|deleted| deleted.count).map_err(error::to_py)
    }

    /// The daemon's settings.
    fn settings(&self, py: Python<'_>) -> PyResult<Settings> {
        Ok(Settings::from_sdk(wait(py, self.inner.settings())?.map_err(error::to_py)?))
    }

    /// Switches the history on or off; returns the new settings.
    fn set_history_enabled(&self, py: Python<'_>, enabled: bool) -> PyResult<Settings> {
        Ok(Settings::from_sdk(wait(py, self.inner.set_history_enabled(enabled))?.map_err(error::to_py)?))
    }

    /// Changes the settings given (the others stay); returns all of them. Signed in, `sync`,
    /// `telemetry`, `training_consent` and `marketing_email` are the account's, for every device.
    /// `segmentation` is what background "auto" uses: "auto", "builtin" or a segmentation model.
    #[pyo3(signature = (*, history_enabled = None, sync = None, telemetry = None, training_consent = None, marketing_email = None, segmentation = None))]
    #[allow(clippy::too_many_arguments)] // Python's keyword arguments, one per setting.
    fn update_settings(
        &self,
        py: Python<'_>,
        history_enabled: Option<bool>,
        sync: Option<bool>,
        telemetry: Option<bool>,
        training_consent: Option<bool>,
        marketing_email: Option<bool>,
        segmentation: Option<String>,
    ) -> PyResult<Settings> {
        let mut update = sdk::SettingsUpdate::default();
        update.segmentation = segmentation;
        (update.history_enabled, update.sync, update.telemetry) = (history_enabled, sync, telemetry);
        (update.training_consent, update.marketing_email) = (training_consent, marketing_email);
        Ok(Settings::from_sdk(wait(py, self.inner.update_settings(update))?.map_err(error::to_py)?))
    }

    /// The account's sessions (every device signed in) as dicts: id, device_name, os, created_at,
    /// last_seen_at (Unix seconds) and current (this device's).
    fn account_sessions(&self, py: Python<'_>) -> PyResult<Vec<Py<pyo3::types::PyDict>>> {
        let sessions = wait(py, self.inner.account_sessions())?.map_err(error::to_py)?;
        sessions
            .into_iter()
            .map(|session| {
                let dict = pyo3::types::PyDict::new(py);
                dict.set_item("id", session.id)?;
                dict.set_item("device_name", session.device_name)?;
                dict.set_item("os", session.os)?;
                dict.set_item("created_at", session.created_at)?;
                dict.set_item("last_seen_at", session.last_seen_at)?;
                dict.set_item("current", session.current)?;
                Ok(dict.unbind())
            })
            .collect()
    }

    /// Changes the password (the data key stays); every other device's session ends.
    fn account_change_password(&self, py: Python<'_>, current: String, new: String) -> PyResult<AccountStatus> {
        let status = wait(py, self.inner.account_change_password(&current, &new))?;
        Ok(AccountStatus::from_sdk(status.map_err(error::to_py)?))
    }

    /// Gets back in with the recovery code and a new password and signs this device in; returns
    /// `(status, new_recovery_code)` (the old code no longer works).
    #[pyo3(signature = (server, email, recovery_code, new_password, *, device_name = String::new()))]
    fn account_recover(
        &self,
        py: Python<'_>,
        server: String,
        email: String,
        recovery_code: String,
        new_password: String,
        device_name: String,
    ) -> PyResult<(AccountStatus, String)> {
        let recovered =
            wait(py, self.inner.account_recover(&server, &email, &recovery_code, &new_password, &device_name))?;
        let (status, code) = recovered.map_err(error::to_py)?;
        Ok((AccountStatus::from_sdk(status), code))
    }

    /// Writes the account's export (a tar archive) to `path`; returns its size in bytes.
    fn account_export(&self, py: Python<'_>, path: PathBuf) -> PyResult<u64> {
        wait(py, self.inner.account_export(&path))?.map_err(error::to_py)
    }

    /// Deletes the account and everything it holds (it takes the password), and its generations on
    /// this device; returns how many were removed here.
    fn account_delete(&self, py: Python<'_>, password: String) -> PyResult<u32> {
        wait(py, self.inner.account_delete(&password))?.map_err(error::to_py)
    }

    /// Where sync with the account stands.
    fn sync_status(&self, py: Python<'_>) -> PyResult<SyncStatus> {
        Ok(SyncStatus::from_sdk(wait(py, self.inner.sync_status())?.map_err(error::to_py)?))
    }

    /// Runs a sync round now (waiting for it) and says how it ended.
    fn sync_now(&self, py: Python<'_>) -> PyResult<SyncStatus> {
        Ok(SyncStatus::from_sdk(wait(py, self.inner.sync_now())?.map_err(error::to_py)?))
    }

    /// Creates an account on the cloud service at `server` (for people 13 and older) and signs this
    /// device in; returns `(status, recovery_code)`. The password goes to the daemon only, which
    /// derives the keys; the recovery code is shown this once.
    #[pyo3(signature = (server, email, name, birth_date, password, *, device_name = String::new(), country = String::new()))]
    #[allow(clippy::too_many_arguments)]
    fn account_sign_up(
        &self,
        py: Python<'_>,
        server: String,
        email: String,
        name: String,
        birth_date: String,
        password: String,
        device_name: String,
        country: String,
    ) -> PyResult<(AccountStatus, String)> {
        let mut request =
            sdk::SignUpRequest::new(&server, &email, &name, &birth_date, &password).with_device_name(&device_name);
        request.country = country;
        let (status, code) = wait(py, self.inner.account_sign_up(request))?.map_err(error::to_py)?;
        Ok((AccountStatus::from_sdk(status), code))
    }

    /// Signs this device in to an account on the cloud service at `server`.
    #[pyo3(signature = (server, email, password, *, device_name = String::new()))]
    fn account_log_in(
        &self,
        py: Python<'_>,
        server: String,
        email: String,
        password: String,
        device_name: String,
    ) -> PyResult<AccountStatus> {
        let status = wait(py, self.inner.account_log_in(&server, &email, &password, &device_name))?;
        Ok(AccountStatus::from_sdk(status.map_err(error::to_py)?))
    }

    /// Who is signed in on this device (asked of the service when it answers).
    fn account_status(&self, py: Python<'_>) -> PyResult<AccountStatus> {
        Ok(AccountStatus::from_sdk(wait(py, self.inner.account_status())?.map_err(error::to_py)?))
    }

    /// Ends this device's session; the local history stays.
    fn account_log_out(&self, py: Python<'_>) -> PyResult<AccountStatus> {
        Ok(AccountStatus::from_sdk(wait(py, self.inner.account_log_out())?.map_err(error::to_py)?))
    }

    /// The models the daemon knows: the built-in reconstructor and every installed model.
    fn models(&self, py: Python<'_>) -> PyResult<Vec<Model>> {
        let models = wait(py, self.inner.models())?.map_err(error::to_py)?;
        Ok(models.into_iter().map(Model::from_sdk).collect())
    }

    /// Has the daemon install the model `manifest` describes, from `source` (a folder, a one-file
    /// model's file, or an http(s) URL; None downloads from the manifest's URLs); returns it as
    /// `models()` lists it. An installed model of the same name is replaced once the new one is
    /// complete.
    #[pyo3(signature = (manifest, source = None))]
    fn install_model(&self, py: Python<'_>, manifest: PathBuf, source: Option<PathOrUrl>) -> PyResult<Model> {
        let source = source.map(|source| source.0);
        let installed = wait(py, async {
            let mut ignore = |_done: u64, _total: u64| {};
            self.inner.install_model(&manifest, source.as_deref(), &mut ignore).await
        })?
        .map_err(error::to_py)?;
        self.model_named(py, &installed.name)
    }

    /// Has the daemon re-check an installed model's files against its manifest (sizes and
    /// SHA-256s); raises when one differs.
    fn verify_model(&self, py: Python<'_>, name: &str) -> PyResult<Model> {
        let installed = wait(py, self.inner.verify_model(name))?.map_err(error::to_py)?;
        self.model_named(py, &installed.name)
    }

    /// Has the daemon remove an installed model; refused while a job uses it.
    fn remove_model(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        wait(py, self.inner.remove_model(name))?.map_err(error::to_py)
    }

    /// Every generate option as the daemon describes it — name, flag, label, description, kind
    /// ("int", "float", "choice", "flag"), default, and min/max/allowed or choices — and the
    /// installed models of each role: `{"options": [...], "models": {"segmentation": [...], ...}}`.
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let table = wait(py, self.inner.options())?.map_err(error::to_py)?;
        crate::types::option_table(py, &table)
    }

    /// What the daemon says about itself: version, devices, queue, where it stores things.
    fn info(&self, py: Python<'_>) -> PyResult<DaemonInfo> {
        Ok(DaemonInfo::from_sdk(wait(py, self.inner.info())?.map_err(error::to_py)?))
    }

    /// Stops the daemon; its running jobs are cancelled cleanly.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        wait(py, self.inner.shutdown())?.map_err(error::to_py)
    }
}

impl Client {
    fn model_named(&self, py: Python<'_>, name: &str) -> PyResult<Model> {
        let models = wait(py, self.inner.models())?.map_err(error::to_py)?;
        models.into_iter().find(|model| model.name == name).map(Model::from_sdk).ok_or_else(|| {
            error::ThreeDGptError::new_err(format!("the daemon does not list {name} after installing it"))
        })
    }
}

/// A model's source: a path (str or os.PathLike) or a URL.
struct PathOrUrl(String);

impl<'py> FromPyObject<'_, 'py> for PathOrUrl {
    type Error = PyErr;

    fn extract(value: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(text) = value.extract::<String>() {
            return Ok(PathOrUrl(text));
        }
        let path: PathBuf = value.extract()?;
        Ok(PathOrUrl(path.display().to_string()))
    }
}

/// The token of the daemon's loopback TCP endpoint, from its file in the runtime folder.
fn read_token() -> PyResult<String> {
    let path = sdk::paths::tcp_token_path(&sdk::paths::runtime_dir());
    std::fs::read_to_string(&path).map(|token| token.trim().to_owned()).map_err(|source| {
        error::DaemonUnavailable::new_err(format!(
            "could not read the daemon's TCP token from {}: {source}; pass token= or start the daemon with --tcp",
            path.display()
        ))
    })
}

fn parse_format(format: &str) -> PyResult<sdk::Format> {
    sdk::Format::from_extension(format.trim_start_matches('.'))
        .ok_or_else(|| PyValueError::new_err(format!("format must be one of glb, gltf, obj, stl, ply, not {format:?}")))
}

/// Bytes, or the contents of the file a path names.
fn bytes_or_file(value: &Bound<'_, PyAny>, what: &str) -> PyResult<(Option<PathBuf>, Vec<u8>)> {
    if is_bytes(value) {
        return Ok((None, value.extract()?));
    }
    let path: PathBuf = value.extract().map_err(|_| {
        PyTypeError::new_err(format!("{what} must be a path (str or os.PathLike) or bytes, not {}", type_name(value)))
    })?;
    let bytes = std::fs::read(&path)
        .map_err(|source| InvalidInput::new_err(format!("could not read the {what} {}: {source}", path.display())))?;
    Ok((Some(path), bytes))
}

fn is_bytes(value: &Bound<'_, PyAny>) -> bool {
    value.is_instance_of::<PyBytes>() || value.is_instance_of::<PyByteArray>()
}

/// A value as Python would print it, for error messages.
fn value_text(value: &Bound<'_, PyAny>) -> String {
    value.repr().map_or_else(|_| "?".to_owned(), |text| text.to_string())
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map_or_else(|_| "?".to_owned(), |name| name.to_string())
}

/// The request for `generate` and `submit` from their arguments.
fn build_request(
    image: &Bound<'_, PyAny>,
    output: Option<PathBuf>,
    options: Option<&Bound<'_, PyDict>>,
    detach: bool,
) -> PyResult<sdk::GenerateRequest> {
    use sdk::options::{self as table, Spec};
    let mut settings = sdk::GenerateOptions::default();
    let mut name: Option<String> = None;
    let (mut views, mut sheet) = (Vec::new(), false);
    for (key, value) in options.into_iter().flat_map(|options| options.iter()) {
        let key: String = key.extract()?;
        if value.is_none() {
            continue;
        }
        // Checked here against the option table the daemon uses, so the error names the keyword.
        let invalid = |reason: String| PyValueError::new_err(format!("{key}={}: {reason}", value_text(&value)));
        let int = |spec: &'static Spec| -> PyResult<Option<u32>> {
            let number: u32 = value.extract().map_err(|_| invalid(format!("{} must be a whole number", spec.name)))?;
            spec.int().check(number).map(Some).map_err(invalid)
        };
        let float = |spec: &'static Spec| -> PyResult<Option<f32>> {
            let number: f32 = value.extract().map_err(|_| invalid(format!("{} must be a number", spec.name)))?;
            spec.float().check(number).map(Some).map_err(invalid)
        };
        let text =
            |what: &str| -> PyResult<String> { value.extract().map_err(|_| invalid(format!("{key} must be {what}"))) };
        let choice = |spec: &'static Spec| -> PyResult<Option<String>> {
            let choices = spec.choices();
            let name = text(&format!("one of {}", choices.names().join(", ")))?;
            choices.check(&name).map(|choice| Some(choice.name.to_owned())).map_err(invalid)
        };
        match key.as_str() {
            "faces" => settings.faces = int(&table::FACES)?,
            "texture_size" => settings.texture_size = int(&table::TEXTURE_SIZE)?,
            "foreground_ratio" => settings.foreground_ratio = float(&table::FOREGROUND_RATIO)?,
            "shape" => settings.shape = choice(&table::SHAPE)?,
            "thickness" => settings.thickness = float(&table::THICKNESS)?,
            "origin" => settings.origin = choice(&table::ORIGIN)?,
            "size" => settings.size_m = float(&table::SIZE)?,
            "grid" => settings.grid = int(&table::GRID)?,
            "model" => settings.model = Some(text("a model name")?),
            "depth" => settings.depth = Some(text("a depth model's name")?),
            "device" => {
                let name = text("\"auto\", \"cpu\" or \"gpu\"")?;
                settings.device = sdk::Device::from_name(&name)
                    .ok_or_else(|| invalid("device must be \"auto\", \"cpu\" or \"gpu\"".to_owned()))?;
            }
            "format" => settings.format = Some(parse_format(&text("a format name")?)?),
            "reproducible" => {
                settings.reproducible = value.extract().map_err(|_| invalid("use True or False".to_owned()))?
            }
            "name" => name = Some(text("a string")?),
            "background" => {
                let choice = text("\"auto\", \"keep\", \"builtin\" or a segmentation model's name")?;
                settings.background = sdk::Background::from_name(&choice);
            }
            "mask" => settings.background = sdk::Background::Mask(bytes_or_file(&value, "mask")?.1),
            side @ ("right" | "left" | "back" | "top") => views.push((side.to_owned(), picture(&value, side)?)),
            "sheet" => sheet = value.extract().map_err(|_| invalid("use True or False".to_owned()))?,
            _ => {
                let names: Vec<&str> = table::ALL.iter().map(|spec| spec.name).collect();
                return Err(PyTypeError::new_err(format!(
                    "got an unexpected keyword argument '{key}'; the options are {}, mask, name, the views \
                     right, left, back and top, and sheet",
                    names.join(", ")
                )));
            }
        }
    }
    // A path is read by the daemon itself (same user, no copy); bytes are streamed.
    let source = match picture(image, "image")? {
        sdk::ImageSource::Bytes { bytes, .. } => {
            sdk::ImageSource::Bytes { name: name.unwrap_or_else(|| "image".to_owned()), bytes }
        }
        path => path,
    };
    let mut request = match output {
        Some(output) => sdk::GenerateRequest::new(source, output),
        None => sdk::GenerateRequest::into_history(source),
    };
    for (side, view) in views {
        request = request.with_view(side, view);
    }
    Ok(request.with_options(settings).with_detach(detach).with_sheet(sheet))
}

/// A picture argument: a path the daemon reads, or the image's bytes (named `what`.png).
fn picture(value: &Bound<'_, PyAny>, what: &str) -> PyResult<sdk::ImageSource> {
    if is_bytes(value) {
        return Ok(sdk::ImageSource::Bytes { name: format!("{what}.png"), bytes: value.extract()? });
    }
    let path: PathBuf = value.extract().map_err(|_| {
        PyTypeError::new_err(format!("{what} must be a path (str or os.PathLike) or bytes, not {}", type_name(value)))
    })?;
    Ok(sdk::ImageSource::Path(path))
}
