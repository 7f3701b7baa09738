//! The one test harness for the real daemon, shared by `tests/daemon.rs`, `tests/windows.rs` and
//! `examples/bench_daemon.rs`: a `3dgpt serve` on private runtime and data folders (its history
//! key in a file there, but on Windows in the Credential Manager), killed when dropped, and the
//! requests the tests send.
// Each user takes what it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use threedgpt_sdk::{Client, ConnectOptions, GenerateOptions, GenerateRequest, ImageSource};

/// The `3dgpt` binary: Cargo's for tests, the one beside the example for examples.
pub(crate) fn binary() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_3dgpt") {
        Some(path) => PathBuf::from(path),
        None => {
            let me = std::env::current_exe().expect("own path");
            let folder = me.parent().and_then(Path::parent).expect("target folder");
            folder.join(format!("3dgpt{}", std::env::consts::EXE_SUFFIX))
        }
    }
}

/// A picture in `examples/`.
pub(crate) fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name)
}

/// Options that finish in a fraction of a second.
pub(crate) fn fast() -> GenerateOptions {
    GenerateOptions::default().with_grid(64).with_faces(1000).with_texture_size(256)
}

/// Options that keep the reconstruct stage busy for seconds, so there is time to cancel.
pub(crate) fn slow() -> GenerateOptions {
    GenerateOptions::default().with_grid(2048)
}

/// The duck, to `output`.
pub(crate) fn request(output: &Path, options: GenerateOptions) -> GenerateRequest {
    GenerateRequest::new(ImageSource::Path(example("duck.png")), output).with_options(options)
}

/// A daemon on a private runtime folder and data folder, killed when dropped.
pub(crate) struct Daemon {
    pub(crate) child: Option<Child>,
    /// The runtime folder (socket or pipe name, token).
    pub(crate) dir: tempfile::TempDir,
    /// The data folder (history, settings, models).
    pub(crate) data: PathBuf,
    _data_holder: Option<tempfile::TempDir>,
}

impl Daemon {
    /// A daemon with a fresh data folder; `extra` are more `serve` flags.
    pub(crate) fn start(extra: &[&str]) -> Daemon {
        let data = tempfile::tempdir().unwrap();
        let mut daemon = Daemon::start_with_data(data.path(), extra);
        daemon._data_holder = Some(data);
        daemon
    }

    /// A daemon keeping its history in `data`.
    pub(crate) fn start_with_data(data: &Path, extra: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(binary());
        command.args(["serve", "--foreground", "--idle-timeout", "0"]);
        if !cfg!(windows) {
            command.arg("--key-file").arg(data.join("history.key"));
        }
        let child = command
            .args(extra)
            .env("THREEDGPT_RUNTIME_DIR", dir.path())
            .env("THREEDGPT_DATA_DIR", data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Daemon { child: Some(child), dir, data: data.to_path_buf(), _data_holder: None }
    }

    /// The socket path (on Windows, the path the pipe's name is derived from).
    pub(crate) fn socket(&self) -> PathBuf {
        threedgpt_sdk::paths::socket_path(self.dir.path())
    }

    /// How a client reaches this daemon (never starting another).
    pub(crate) fn options(&self) -> ConnectOptions {
        ConnectOptions::default().with_socket_path(self.socket()).with_autostart(false)
    }

    /// A client, once the daemon answers (within 10 s).
    pub(crate) async fn client(&self) -> Client {
        for _ in 0..400 {
            if let Ok(client) = Client::connect(&self.options()).await {
                return client;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the daemon did not come up");
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Every file of the history's blob store.
    pub(crate) fn blob_files(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![self.data.join("history").join("blobs")];
        while let Some(folder) = pending.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() { pending.push(path) } else { found.push(path) }
            }
        }
        found
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
