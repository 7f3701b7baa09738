//! `ThreeDGpt`: the class GDScript uses, in the dock and in tool scripts. Each call starts work on a
//! thread of its own (`worker`) and returns at once; the outcomes come back as signals on the main
//! thread, drained once a frame from the scene tree's `process_frame`.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};

use godot::classes::{Engine, Object, SceneTree};
use godot::global::{godot_error, godot_warn};
use godot::prelude::*;

use crate::options::{self, Value};
use crate::worker::{self, Connection, Generation, Message, OptionSummary, Stop};

/// Generates 3D models from pictures through the 3D GPT daemon, without blocking the editor.
///
/// `generate(path, options)` starts a generation and returns `true`, or `false` (with `failed`)
/// when the options are wrong or a generation is already running. Then `progress` comes as it
/// goes, and one of `finished`, `failed` or `cancelled` ends it. `cancel()` stops it; the daemon
/// leaves no file behind.
#[derive(GodotClass)]
#[class(init, base = RefCounted)]
pub(crate) struct ThreeDGpt {
    /// The daemon's socket; empty for the user's default.
    #[var]
    socket_path: GString,
    /// Start the daemon when none runs.
    #[var]
    #[init(val = true)]
    auto_start: bool,
    /// The `3dgpt` program to start; empty to find it on the `PATH`.
    #[var]
    daemon_program: GString,
    /// The running generation: how to stop it, and its messages.
    generation: Option<(Stop, Receiver<Message>)>,
    /// Messages of the other calls (options, history, re-import, delete).
    others: Option<(Sender<Message>, Receiver<Message>)>,
    /// How many of those have not answered yet.
    others_running: usize,
    /// Stops everything this object started when it is freed.
    stop_all: Stop,
    /// Connected to the scene tree's `process_frame` while work runs.
    poller: Option<Callable>,
    base: Base<RefCounted>,
}

#[godot_api]
impl ThreeDGpt {
    /// The job's stage in words, the share done (0 to 1), and its place in the queue (0 once it
    /// runs).
    #[signal]
    fn progress(stage: GString, fraction: f64, queue_position: i64);

    /// Something to know about the job or its result.
    #[signal]
    fn warning(message: GString);

    /// The model is written: its path (`res://…` inside the project) and its id in the history
    /// (empty when the history is off).
    #[signal]
    fn finished(path: GString, generation_id: GString);

    /// What went wrong and what to do.
    #[signal]
    fn failed(message: GString);

    /// The generation was cancelled; nothing was written.
    #[signal]
    fn cancelled();

    /// The daemon's choices: `models`, `backgrounds`, `shapes`, `origins` (names, the default
    /// first), `faces`
    /// (`default`, `min`, `max`), `texture_sizes` and `texture_size`.
    #[signal]
    fn options_loaded(options: VarDictionary);

    /// The newest generations: each a Dictionary with `id`, `source`, `created_unix_ms`, `faces`,
    /// `device` (the device it came from when another one signed in to the account; "" for this
    /// one) and `thumbnail` (PNG bytes, maybe empty).
    #[signal]
    fn history_loaded(entries: VarArray);

    /// A generation was deleted from the history.
    #[signal]
    fn deleted(generation_id: GString);

    /// Starts generating a model from the picture at `path` (`res://`, `user://` or absolute).
    /// `options`: `faces`, `texture_size`, `model`, `background`, `shape`, `origin`,
    /// `foreground_ratio`, `thickness`,
    /// `size`, `grid`, `depth`, `device`, `reproducible`, and `folder` (default
    /// `res://generated`); pictures from other sides, `right`, `back`, `left`, `top` (paths, which
    /// carve the shape and texture what they see), or `sheet` (true: the picture is a turnaround
    /// sheet). Returns `false`, with `failed`, when it cannot start.
    #[func]
    fn generate(&mut self, path: GString, options: VarDictionary) -> bool {
        if self.generation.is_some() {
            self.fail("A generation is already running: wait for it or cancel it.".to_owned());
            return false;
        }
        let entries = options.iter_shared().map(|(key, value)| (key.to_string(), value_of(&value)));
        let request = match options::parse(entries) {
            Ok(request) => request,
            Err(message) => {
                self.fail(format!("{message}."));
                return false;
            }
        };
        let generation = Generation {
            image: absolute(&path.to_string()),
            folder: absolute(&request.folder),
            options: request.options,
            views: request.views.iter().map(|(side, path)| (side.clone(), absolute(path))).collect(),
            sheet: request.sheet,
        };
        let stop = Stop::default();
        let (sender, receiver) = mpsc::channel();
        worker::generate(self.connection(), generation, stop.clone(), sender);
        self.generation = Some((stop, receiver));
        self.start_polling();
        true
    }

    /// Cancels the running generation; `false` when none runs. `cancelled` follows once the
    /// daemon has stopped it.
    #[func]
    fn cancel(&mut self) -> bool {
        match &self.generation {
            Some((stop, _)) => {
                stop.request();
                true
            }
            None => false,
        }
    }

    /// Whether a generation is running.
    #[func]
    fn is_busy(&self) -> bool {
        self.generation.is_some()
    }

    /// Asks the daemon for its options and installed models: `options_loaded`, or `failed`.
    #[func]
    fn load_options(&mut self) {
        let sender = self.others_sender();
        worker::options(self.connection(), self.stop_all.clone(), sender);
        self.start_polling();
    }

    /// Asks for the newest `count` generations of the history: `history_loaded`, or `failed`.
    #[func]
    fn load_history(&mut self, count: i64) {
        let sender = self.others_sender();
        worker::history(self.connection(), count.clamp(1, 100) as u32, self.stop_all.clone(), sender);
        self.start_polling();
    }

    /// Writes a generation from the history into `folder` (default `res://generated`) as a new
    /// `.glb` named after `source`: `finished`, or `failed`.
    #[func]
    fn reimport(&mut self, generation_id: GString, source: GString, folder: GString) {
        let folder = if folder.is_empty() { options::DEFAULT_FOLDER.to_owned() } else { folder.to_string() };
        let sender = self.others_sender();
        let (connection, stop) = (self.connection(), self.stop_all.clone());
        worker::reimport(connection, generation_id.to_string(), source.to_string(), absolute(&folder), stop, sender);
        self.start_polling();
    }

    /// Deletes a generation from the daemon's history (files in the project stay): `deleted`,
    /// or `failed`.
    #[func]
    fn delete_generation(&mut self, generation_id: GString) {
        let sender = self.others_sender();
        worker::delete(self.connection(), generation_id.to_string(), self.stop_all.clone(), sender);
        self.start_polling();
    }

    /// The path `generate` would write for a picture in `folder` now (for showing it).
    #[func]
    fn output_path_for(&self, path: GString, folder: GString) -> GString {
        let folder = if folder.is_empty() { options::DEFAULT_FOLDER.to_owned() } else { folder.to_string() };
        let reservation = crate::naming::reserve(&absolute(&folder), &path.to_string());
        localize(reservation.path())
    }
}

impl ThreeDGpt {
    fn connection(&self) -> Connection {
        Connection {
            socket: self.socket_path.to_string(),
            autostart: self.auto_start,
            program: self.daemon_program.to_string(),
        }
    }

    /// The sender for another call; each sends one message, which ends it.
    fn others_sender(&mut self) -> Sender<Message> {
        self.others_running += 1;
        self.others.get_or_insert_with(mpsc::channel).0.clone()
    }

    /// Drains the workers' messages once a frame while work runs. The callable holds only the
    /// object's id and is tied to its life: the signals are emitted with no borrow of the object
    /// held, so a handler may drop the last reference to it (a tool script's local variable).
    fn start_polling(&mut self) {
        if self.poller.is_some() {
            return;
        }
        let Some(mut tree) = scene_tree() else {
            godot_error!("3D GPT: no scene tree to poll from; results cannot be delivered");
            return;
        };
        let id = self.base().instance_id();
        let callable = Callable::from_linked_fn("ThreeDGpt::poll", &self.to_gd(), move |_| {
            poll(id);
            Variant::nil()
        });
        tree.connect("process_frame", &callable);
        self.poller = Some(callable);
    }

    /// The messages waiting; polling stops once nothing runs.
    fn drain(&mut self) -> Vec<Message> {
        let mut messages = Vec::new();
        let mut generation_ended = false;
        if let Some((_, receiver)) = &self.generation {
            loop {
                match receiver.try_recv() {
                    Ok(message) => {
                        generation_ended = ends(&message);
                        messages.push(message);
                        if generation_ended {
                            break;
                        }
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        messages.push(Message::Failed("The generation stopped without a result.".to_owned()));
                        generation_ended = true;
                        break;
                    }
                }
            }
        }
        if generation_ended {
            self.generation = None;
        }
        if let Some((_, receiver)) = &self.others {
            let before = messages.len();
            messages.extend(receiver.try_iter());
            self.others_running = self.others_running.saturating_sub(messages.len() - before);
        }
        if self.generation.is_none() && self.others_running == 0 {
            self.stop_polling();
        }
        messages
    }

    fn stop_polling(&mut self) {
        let Some(callable) = self.poller.take() else { return };
        if let Some(mut tree) = scene_tree()
            && tree.is_connected("process_frame", &callable)
        {
            tree.disconnect("process_frame", &callable);
        }
    }

    /// Reports a failure now (the caller sees it before the call returns); `base_mut` lets a
    /// handler call back into this object.
    fn fail(&mut self, message: String) {
        let (signal, arguments) = signal_of(Message::Failed(message));
        self.base_mut().emit_signal(signal, &arguments);
    }
}

/// Emits the waiting messages of the object with this id as signals, holding no borrow of it.
fn poll(id: InstanceId) {
    let Ok(mut this) = Gd::<ThreeDGpt>::try_from_instance_id(id) else { return };
    let messages = this.bind_mut().drain();
    let mut object = this.upcast::<Object>();
    for message in messages {
        for (signal, arguments) in signals_of(message) {
            object.emit_signal(signal, &arguments);
        }
    }
}

/// The signals a message becomes (a result's warnings come first), each written to the Output
/// panel where it is a warning or an error.
fn signals_of(message: Message) -> Vec<(&'static str, Vec<Variant>)> {
    let mut signals = Vec::new();
    let message = match message {
        Message::Finished { path, generation_id, warnings } => {
            for warning in warnings {
                signals.push(signal_of(Message::Warning(warning)));
            }
            Message::Finished { path, generation_id, warnings: Vec::new() }
        }
        message => message,
    };
    signals.push(signal_of(message));
    signals
}

fn signal_of(message: Message) -> (&'static str, Vec<Variant>) {
    match message {
        Message::Progress { stage, fraction, queue_position } => (
            "progress",
            vec![stage.to_variant(), f64::from(fraction).to_variant(), i64::from(queue_position).to_variant()],
        ),
        Message::Warning(message) => {
            godot_warn!("3D GPT: {message}");
            ("warning", vec![message.to_variant()])
        }
        Message::Finished { path, generation_id, .. } => {
            ("finished", vec![localize(&path).to_variant(), generation_id.unwrap_or_default().to_variant()])
        }
        Message::Failed(message) => {
            godot_error!("3D GPT: {message}");
            ("failed", vec![message.to_variant()])
        }
        Message::Cancelled => ("cancelled", Vec::new()),
        Message::Options(summary) => ("options_loaded", vec![options_dictionary(&summary).to_variant()]),
        Message::History(items) => {
            let mut entries = VarArray::new();
            for item in items {
                let mut entry = VarDictionary::new();
                entry.set("id", item.id);
                entry.set("source", item.source);
                entry.set("created_unix_ms", item.created_unix_ms);
                entry.set("faces", item.faces as i64);
                entry.set("device", item.device);
                entry.set("thumbnail", &PackedByteArray::from(item.thumbnail).to_variant());
                entries.push(&entry.to_variant());
            }
            ("history_loaded", vec![entries.to_variant()])
        }
        Message::Deleted(id) => ("deleted", vec![id.to_variant()]),
    }
}

impl Drop for ThreeDGpt {
    fn drop(&mut self) {
        // A freed object's work is of no use to anyone: stop it (the daemon cancels the job).
        self.stop_all.request();
        if let Some((stop, _)) = &self.generation {
            stop.request();
        }
    }
}

/// Whether this message ends a generation.
fn ends(message: &Message) -> bool {
    matches!(message, Message::Finished { .. } | Message::Failed(_) | Message::Cancelled)
}

fn scene_tree() -> Option<Gd<SceneTree>> {
    Engine::singleton().get_main_loop()?.try_cast::<SceneTree>().ok()
}

/// A GDScript value for the option parser.
fn value_of(value: &Variant) -> Value {
    match value.get_type() {
        VariantType::NIL => Value::Nil,
        VariantType::BOOL => Value::Bool(value.to()),
        VariantType::INT => Value::Int(value.to()),
        VariantType::FLOAT => Value::Float(value.to()),
        VariantType::STRING | VariantType::STRING_NAME => Value::Text(value.to_string()),
        other => Value::Other(format!("{other:?}")),
    }
}

fn options_dictionary(summary: &OptionSummary) -> VarDictionary {
    let mut dictionary = VarDictionary::new();
    dictionary.set("models", &strings(&summary.models).to_variant());
    dictionary.set("backgrounds", &strings(&summary.backgrounds).to_variant());
    dictionary.set("shapes", &strings(&summary.shapes).to_variant());
    dictionary.set("origins", &strings(&summary.origins).to_variant());
    let (default, min, max) = summary.faces;
    dictionary.set("faces", &vdict! { "default" => default, "min" => min, "max" => max }.to_variant());
    dictionary.set("texture_size", summary.texture_size.0);
    let sizes: PackedInt32Array = summary.texture_size.1.iter().map(|size| *size as i32).collect();
    dictionary.set("texture_sizes", &sizes.to_variant());
    dictionary
}

fn strings(names: &[String]) -> PackedStringArray {
    names.iter().map(GString::from).collect()
}

fn project_settings() -> Option<Gd<Object>> {
    Engine::singleton().get_singleton("ProjectSettings")
}

/// A Godot path as a file system path: `res://` and `user://` through the project's settings, a
/// relative path inside the project.
fn absolute(path: &str) -> PathBuf {
    let path = if path.contains("://") || std::path::Path::new(path).is_absolute() {
        path.to_owned()
    } else {
        format!("res://{path}")
    };
    match project_settings() {
        Some(mut settings) => PathBuf::from(settings.call("globalize_path", &[path.to_variant()]).to_string()),
        None => PathBuf::from(path),
    }
}

/// A file system path as `res://…` when it is inside the project.
fn localize(path: &std::path::Path) -> GString {
    let text = path.display().to_string();
    match project_settings() {
        Some(mut settings) => settings.call("localize_path", &[text.to_variant()]).to::<GString>(),
        None => GString::from(&text),
    }
}
