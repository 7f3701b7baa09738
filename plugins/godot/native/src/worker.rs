//! The work behind the Godot classes, on threads of its own: connect to the daemon, generate,
//! list and download the history. Nothing here touches Godot: every outcome is a [`Message`] sent
//! down a channel that the Godot layer drains on the main thread, where it becomes a signal.
//! A call never blocks its caller, and every failure (no daemon, the daemon dying mid-job, a full
//! disk) becomes a [`Message::Failed`] with a sentence for people.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use threedgpt_sdk::blocking::{self, Next};
use threedgpt_sdk::{
    Artifact, Client, ConnectOptions, Format, GenerateRequest, ImageSource, JobEvent, OptionKind, OptionTable, SdkError,
};

use crate::naming::{self, Reservation};
use crate::progress;

/// How to reach the daemon (the plugin's Editor Settings).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Connection {
    /// The daemon's socket; empty for the user's default.
    pub(crate) socket: String,
    /// Start the daemon when none runs.
    pub(crate) autostart: bool,
    /// The `3dgpt` program to start; empty to find it (`THREEDGPT_DAEMON`, then the `PATH`).
    pub(crate) program: String,
}

impl Connection {
    fn options(&self) -> ConnectOptions {
        let mut options = ConnectOptions::default().with_autostart(self.autostart);
        if !self.socket.trim().is_empty() {
            options = options.with_socket_path(self.socket.trim());
        }
        if !self.program.trim().is_empty() {
            options = options.with_daemon_program(self.program.trim());
        }
        options
    }
}

/// What a worker reports, in order; every operation ends with exactly one of `Finished`,
/// `Failed`, `Cancelled`, `Options`, `History` or `Deleted`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    /// The job's progress: its stage for people, the share done, its place in the queue (0 once
    /// it runs).
    Progress { stage: String, fraction: f32, queue_position: u32 },
    /// Something to know while the job goes on, or about its result.
    Warning(String),
    /// The model is written at this path.
    Finished { path: PathBuf, generation_id: Option<String>, warnings: Vec<String> },
    /// The operation failed: what went wrong and what to do.
    Failed(String),
    /// The job was cancelled; nothing was written.
    Cancelled,
    /// The daemon's options and installed models.
    Options(Box<OptionSummary>),
    /// The newest generations in the history.
    History(Vec<HistoryItem>),
    /// A generation was deleted from the history.
    Deleted(String),
}

/// The daemon's choices for the dock.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct OptionSummary {
    /// Reconstructor names, the default first.
    pub(crate) models: Vec<String>,
    /// Background removers: the fixed choices, then the segmentation models.
    pub(crate) backgrounds: Vec<String>,
    /// The built-in reconstructor's shapes, the default first.
    pub(crate) shapes: Vec<String>,
    /// Where the origin may sit, the default first.
    pub(crate) origins: Vec<String>,
    /// The default face count and its range.
    pub(crate) faces: (u32, u32, u32),
    /// The default texture size and the sizes allowed.
    pub(crate) texture_size: (u32, Vec<u32>),
}

impl OptionSummary {
    /// The summary of the daemon's table.
    pub(crate) fn from_table(table: &OptionTable) -> OptionSummary {
        let mut summary = OptionSummary::default();
        for option in &table.options {
            match (&*option.name, &option.kind) {
                ("faces", OptionKind::Int { default, min, max, .. }) => summary.faces = (*default, *min, *max),
                ("texture_size", OptionKind::Int { default, allowed, .. }) => {
                    summary.texture_size = (*default, allowed.clone())
                }
                ("model" | "background" | "shape" | "origin", OptionKind::Choice { default, choices, models }) => {
                    let mut names: Vec<String> = Vec::new();
                    if !default.is_empty() {
                        names.push(default.clone());
                    }
                    names.extend(choices.iter().map(|(name, _)| name.clone()));
                    if let Some(role) = models {
                        names.extend(table.models(role).iter().cloned());
                    }
                    let mut unique = Vec::new();
                    for name in names {
                        if !unique.contains(&name) {
                            unique.push(name);
                        }
                    }
                    match option.name.as_str() {
                        "model" => summary.models = unique,
                        "background" => summary.backgrounds = unique,
                        "shape" => summary.shapes = unique,
                        _ => summary.origins = unique,
                    }
                }
                _ => {}
            }
        }
        summary
    }
}

/// One generation in the history list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistoryItem {
    /// Its id in the daemon's history.
    pub(crate) id: String,
    /// The picture's name.
    pub(crate) source: String,
    /// When it was made, milliseconds since the Unix epoch.
    pub(crate) created_unix_ms: i64,
    /// Its face count, when the record says.
    pub(crate) faces: u64,
    /// The device it was made on when another one signed in to the account; empty for this one.
    pub(crate) device: String,
    /// A PNG of the model from the front; empty when it has none.
    pub(crate) thumbnail: Vec<u8>,
}

/// A request to stop, shared by the Godot object and its worker threads.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Asks the work to stop.
    pub(crate) fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The SDK's host: waits plainly, and stops when asked.
struct Host<'a>(&'a Stop);

/// The wait was stopped.
struct Stopped;

impl blocking::Host for Host<'_> {
    type Error = Stopped;

    fn unlocked<R: Send>(&self, wait: impl FnOnce() -> R + Send) -> R {
        wait()
    }

    fn check(&self) -> Result<(), Stopped> {
        if self.0.requested() { Err(Stopped) } else { Ok(()) }
    }
}

/// Waits for `future`, or stops with `Message::Cancelled` when asked.
fn wait<F>(stop: &Stop, future: F) -> Result<F::Output, Message>
where
    F: Future + Send,
    F::Output: Send,
{
    blocking::wait(&Host(stop), future).map_err(|Stopped| Message::Cancelled)
}

/// Runs `work` on a new thread, sending its messages and then its outcome.
fn spawn(name: &str, sender: Sender<Message>, work: impl FnOnce(&Sender<Message>) -> Message + Send + 'static) {
    let spawned = std::thread::Builder::new().name(format!("3dgpt-{name}")).spawn({
        let sender = sender.clone();
        move || {
            let outcome = work(&sender);
            let _ = sender.send(outcome);
        }
    });
    if let Err(error) = spawned {
        let _ = sender.send(Message::Failed(format!("Could not start a thread for 3D GPT: {error}.")));
    }
}

fn connect(connection: &Connection, stop: &Stop) -> Result<Client, Message> {
    wait(stop, Client::connect(&connection.options()))?.map_err(|error| failure(connection, error))
}

/// A generation: `image` (a file) to a new `.glb` in `folder`.
#[derive(Debug, Clone)]
pub(crate) struct Generation {
    /// The picture, an absolute path.
    pub(crate) image: PathBuf,
    /// The output folder, absolute; made when missing.
    pub(crate) folder: PathBuf,
    /// The options.
    pub(crate) options: threedgpt_sdk::GenerateOptions,
    /// Pictures from other sides, by side, absolute.
    pub(crate) views: Vec<(String, PathBuf)>,
    /// The picture is a turnaround sheet.
    pub(crate) sheet: bool,
}

/// Generates on a thread of its own; `stop` cancels the job (the daemon removes what it wrote).
pub(crate) fn generate(connection: Connection, generation: Generation, stop: Stop, sender: Sender<Message>) {
    spawn("generate", sender, move |sender| match run_generation(&connection, &generation, &stop, sender) {
        Ok(message) | Err(message) => message,
    })
}

fn run_generation(
    connection: &Connection,
    generation: &Generation,
    stop: &Stop,
    sender: &Sender<Message>,
) -> Result<Message, Message> {
    if !generation.image.is_file() {
        return Err(Message::Failed(format!(
            "The picture {} does not exist or is not a file: choose another one.",
            generation.image.display()
        )));
    }
    for (side, path) in &generation.views {
        if !path.is_file() {
            return Err(Message::Failed(format!(
                "The {side} picture {} does not exist or is not a file: choose another one, or leave the field empty.",
                path.display()
            )));
        }
    }
    create_folder(&generation.folder)?;
    let name = generation.image.file_name().map_or_else(|| "image".into(), |name| name.to_string_lossy());
    let reservation = naming::reserve(&generation.folder, &name);
    let client = connect(connection, stop)?;
    let mut request = GenerateRequest::new(ImageSource::Path(generation.image.clone()), reservation.path())
        .with_options(generation.options.clone().with_format(Format::Glb))
        .with_sheet(generation.sheet);
    for (side, path) in &generation.views {
        request = request.with_view(side.clone(), ImageSource::Path(path.clone()));
    }
    let stream = wait(stop, client.generate(request))?.map_err(|error| failure(connection, error))?;
    let job = match blocking::Job::start(&Host(stop), client, stream) {
        Ok(job) => job.map_err(|error| failure(connection, error))?,
        // Stopped before the daemon named the job: dropping the stream cancels it.
        Err(Stopped) => return Err(Message::Cancelled),
    };
    follow(&job, &reservation, stop, sender)
}

/// Reads the job's events to its end, cancelling it once `stop` is asked.
fn follow(
    job: &blocking::Job,
    reservation: &Reservation,
    stop: &Stop,
    sender: &Sender<Message>,
) -> Result<Message, Message> {
    let mut state = progress::Progress::default();
    let never = Stop::default();
    let mut cancel_deadline: Option<Instant> = None;
    loop {
        let host = if cancel_deadline.is_some() { Host(&never) } else { Host(stop) };
        let next = match job.next(&host, cancel_deadline) {
            Ok(next) => next,
            Err(Stopped) => {
                // Ask the daemon, then wait for its answer: it removes a half-written file first.
                let _ = job.cancel(&Host(&never));
                cancel_deadline = Some(Instant::now() + Duration::from_secs(30));
                continue;
            }
        };
        let event = match next {
            Next::Event(event) => event,
            Next::Ended => return Err(Message::Failed("The job ended without a result.".to_owned())),
            Next::TimedOut => {
                return Err(Message::Failed(
                    "The daemon did not confirm the cancel within 30 s; see `3dgpt jobs`.".to_owned(),
                ));
            }
        };
        match event {
            JobEvent::Finished { files, generation_id, warnings, .. } => {
                let path = files.last().cloned().unwrap_or_else(|| reservation.path().to_owned());
                return Ok(Message::Finished { path, generation_id, warnings });
            }
            JobEvent::Failed { kind, message, .. } => return Err(Message::Failed(progress::failure(kind, &message))),
            JobEvent::Cancelled { .. } => return Err(Message::Cancelled),
            JobEvent::Warning { message, .. } => {
                let _ = sender.send(Message::Warning(progress::sentence(&message)));
            }
            event => {
                if let Some(update) = state.update(&event) {
                    let _ = sender.send(update);
                }
            }
        }
    }
}

/// Makes the output folder; a failure says which folder and why.
fn create_folder(folder: &Path) -> Result<(), Message> {
    std::fs::create_dir_all(folder).map_err(|error| {
        Message::Failed(format!(
            "Could not make the output folder {}: {error}. Choose another folder in the 3D GPT dock.",
            folder.display()
        ))
    })
}

/// The daemon's options and installed models.
pub(crate) fn options(connection: Connection, stop: Stop, sender: Sender<Message>) {
    spawn("options", sender, move |_| {
        let result = connect(&connection, &stop)
            .and_then(|client| wait(&stop, client.options())?.map_err(|error| failure(&connection, error)));
        match result {
            Ok(table) => Message::Options(Box::new(OptionSummary::from_table(&table))),
            Err(message) => message,
        }
    })
}

/// The newest `count` generations with their thumbnails.
pub(crate) fn history(connection: Connection, count: u32, stop: Stop, sender: Sender<Message>) {
    spawn("history", sender, move |_| {
        let result = connect(&connection, &stop).and_then(|client| {
            let page =
                wait(&stop, client.history(count.clamp(1, 100), None))?.map_err(|error| failure(&connection, error))?;
            let mut items = Vec::with_capacity(page.entries.len());
            for entry in page.entries {
                // A generation without a thumbnail is still listed.
                let thumbnail = wait(&stop, client.download(&entry.id, Artifact::Thumbnail))?.unwrap_or_default();
                items.push(HistoryItem {
                    faces: entry.record.get("faces").and_then(serde_json::Value::as_u64).unwrap_or(0),
                    id: entry.id,
                    source: entry.source,
                    created_unix_ms: entry.created_unix_ms,
                    device: entry.device,
                    thumbnail,
                });
            }
            Ok(items)
        });
        match result {
            Ok(items) => Message::History(items),
            Err(message) => message,
        }
    })
}

/// Writes a generation from the history into `folder` as a new `.glb`.
pub(crate) fn reimport(
    connection: Connection,
    id: String,
    source: String,
    folder: PathBuf,
    stop: Stop,
    sender: Sender<Message>,
) {
    spawn("reimport", sender, move |_| {
        let result = create_folder(&folder).and_then(|()| {
            let reservation = naming::reserve(&folder, &source);
            let client = connect(&connection, &stop)?;
            wait(&stop, client.download_to(&id, Artifact::Asset, Format::Glb, reservation.path()))?
                .map_err(|error| failure(&connection, error))?;
            Ok(Message::Finished { path: reservation.path().to_owned(), generation_id: Some(id), warnings: Vec::new() })
        });
        match result {
            Ok(message) | Err(message) => message,
        }
    })
}

/// Deletes a generation from the daemon's history (the project's files stay).
pub(crate) fn delete(connection: Connection, id: String, stop: Stop, sender: Sender<Message>) {
    spawn("delete", sender, move |_| {
        let result = connect(&connection, &stop).and_then(|client| {
            wait(&stop, client.delete(&id))?
                .map(|deleted| deleted.count > 0)
                .map_err(|error| failure(&connection, error))
        });
        match result {
            Ok(true) => Message::Deleted(id),
            Ok(false) => Message::Failed(format!("Generation {id} is not in the history any more.")),
            Err(message) => message,
        }
    })
}

/// An SDK error as a failure for people, with what to do in the editor.
fn failure(connection: &Connection, error: SdkError) -> Message {
    let hint = match &error {
        SdkError::DaemonUnavailable { .. } if connection.autostart => {
            " In the editor, set Editor Settings > 3D GPT > Connection > Daemon Program to the `3dgpt` program."
        }
        SdkError::DaemonUnavailable { .. } => " Or turn on Editor Settings > 3D GPT > Connection > Auto Start.",
        SdkError::Disconnected(_) => " Generate again: the daemon is started anew when auto-start is on.",
        _ => "",
    };
    Message::Failed(format!("{}{hint}", progress::sentence(&error.to_string())))
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn nowhere() -> (Connection, tempfile::TempDir) {
        let folder = tempfile::tempdir().unwrap();
        let connection = Connection {
            socket: folder.path().join("daemon.sock").display().to_string(),
            autostart: false,
            program: String::new(),
        };
        (connection, folder)
    }

    fn outcome(receiver: &mpsc::Receiver<Message>) -> Message {
        loop {
            match receiver.recv_timeout(Duration::from_secs(60)).expect("the worker answers") {
                Message::Progress { .. } | Message::Warning(_) => {}
                message => return message,
            }
        }
    }

    #[test]
    fn without_a_daemon_a_generation_fails_with_a_sentence_that_says_what_to_do() {
        let (connection, folder) = nowhere();
        let image = folder.path().join("duck.png");
        std::fs::write(&image, b"not looked at").unwrap();
        let (sender, receiver) = mpsc::channel();
        let generation = Generation {
            image,
            folder: folder.path().join("generated"),
            options: Default::default(),
            views: Vec::new(),
            sheet: false,
        };
        generate(connection, generation, Stop::default(), sender);
        let Message::Failed(message) = outcome(&receiver) else { panic!("expected a failure") };
        assert!(message.starts_with("Could not reach the 3D GPT daemon at "), "{message}");
        assert!(
            message.contains("3dgpt serve")
                && message.ends_with("Or turn on Editor Settings > 3D GPT > Connection > Auto Start."),
            "{message}"
        );
        // Nothing written: the folder is made, no model in it.
        assert_eq!(std::fs::read_dir(folder.path().join("generated")).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_picture_is_reported_before_the_daemon_is_asked() {
        let (connection, folder) = nowhere();
        let (sender, receiver) = mpsc::channel();
        let generation = Generation {
            image: folder.path().join("gone.png"),
            folder: folder.path().to_owned(),
            options: Default::default(),
            views: Vec::new(),
            sheet: false,
        };
        generate(connection.clone(), generation, Stop::default(), sender);
        let Message::Failed(message) = outcome(&receiver) else { panic!("expected a failure") };
        assert!(message.starts_with("The picture ") && message.contains("gone.png does not exist"), "{message}");
        let front = folder.path().join("front.png");
        std::fs::write(&front, b"a picture").unwrap();
        let (sender, receiver) = mpsc::channel();
        let generation = Generation {
            image: front,
            folder: folder.path().to_owned(),
            options: Default::default(),
            views: vec![("right".to_owned(), folder.path().join("right.png"))],
            sheet: false,
        };
        generate(connection, generation, Stop::default(), sender);
        let Message::Failed(message) = outcome(&receiver) else { panic!("expected a failure") };
        assert!(message.starts_with("The right picture ") && message.contains("right.png does not exist"), "{message}");
    }

    #[test]
    fn an_unwritable_folder_is_named() {
        let (connection, folder) = nowhere();
        let image = folder.path().join("duck.png");
        std::fs::write(&image, b"x").unwrap();
        let blocker = folder.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        let (sender, receiver) = mpsc::channel();
        let generation = Generation {
            image,
            folder: blocker.join("generated"),
            options: Default::default(),
            views: Vec::new(),
            sheet: false,
        };
        generate(connection, generation, Stop::default(), sender);
        let Message::Failed(message) = outcome(&receiver) else { panic!("expected a failure") };
        assert!(message.starts_with("Could not make the output folder "), "{message}");
    }

    #[test]
    fn history_options_and_delete_fail_cleanly_without_a_daemon() {
        let (connection, _folder) = nowhere();
        let (sender, receiver) = mpsc::channel();
        history(connection.clone(), 10, Stop::default(), sender.clone());
        options(connection.clone(), Stop::default(), sender.clone());
        delete(connection, "gen".to_owned(), Stop::default(), sender);
        for _ in 0..3 {
            assert!(matches!(outcome(&receiver), Message::Failed(message) if message.starts_with("Could not reach")));
        }
    }

    #[test]
    fn the_summary_offers_the_defaults_first_and_every_installed_model() {
        let mut table = OptionTable::compiled();
        table.roles = vec![("segmentation".to_owned(), vec!["u2netp".to_owned()])];
        let summary = OptionSummary::from_table(&table);
        assert_eq!(summary.models.first().map(String::as_str), Some("relief"));
        assert_eq!(summary.backgrounds, ["auto", "keep", "builtin", "u2netp"]);
        assert_eq!(summary.shapes, ["auto", "relief", "revolve", "extrude"]);
        assert_eq!(summary.origins, ["bottom", "center"]);
        assert_eq!(summary.faces, (20_000, 100, 5_000_000));
        assert_eq!(summary.texture_size.0, 1024);
        assert!(summary.texture_size.1.contains(&256) && summary.texture_size.1.contains(&4096));
    }
}
