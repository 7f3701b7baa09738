//! End-to-end tests of the daemon on Windows: the real `3dgpt.exe` on its named pipe, the SDK as
//! client, the history key in the Credential Manager. `scripts/test_windows.sh` builds them for
//! x86_64-pc-windows-gnu and runs them under Wine in a fresh prefix of its own (so the default
//! folders under `%LOCALAPPDATA%` and the Credential Manager are the prefix's, not anyone's).
#![cfg(windows)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use threedgpt_sdk::{Artifact, Client, ConnectOptions, GenerateOptions, GenerateRequest, JobEvent, Stage};

const BINARY: &str = env!("CARGO_BIN_EXE_3dgpt");

mod harness;
use harness::{Daemon, example, fast, request};

/// Reads events until the job ends, with a generous guard so a broken daemon fails the test.
async fn events_of(events: &mut threedgpt_sdk::JobStream) -> Vec<JobEvent> {
    let mut seen = Vec::new();
    let read = async {
        while let Some(event) = events.next().await {
            seen.push(event.expect("event"));
        }
    };
    tokio::time::timeout(Duration::from_secs(300), read).await.expect("the job never ended");
    seen
}

async fn finish(client: &Client, request: GenerateRequest) -> (Option<String>, Vec<PathBuf>) {
    let mut events = client.generate(request).await.unwrap();
    match events_of(&mut events).await.pop() {
        Some(JobEvent::Finished { generation_id, files, .. }) => (generation_id, files),
        other => panic!("did not finish: {other:?}"),
    }
}

/// The whole first-run path with the default folders: two clients find no daemon and race to start
/// one (both end up on the same), a generation is kept in the history with its key in the
/// Credential Manager, and a daemon started afresh later reads it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_clients_start_one_daemon_on_the_pipe_and_the_history_outlives_it() {
    let options = ConnectOptions::default().with_daemon_program(BINARY);
    let runtime_dir = threedgpt_sdk::paths::runtime_dir();
    assert!(runtime_dir.ends_with(r"3dgpt\run"), "{}", runtime_dir.display());
    let (first, second) = tokio::join!(Client::connect(&options), Client::connect(&options));
    let (first, second) = (first.expect("first client"), second.expect("second client"));
    let info = first.info().await.unwrap();
    assert_eq!(info.pid, second.info().await.unwrap().pid, "two daemons were started");
    assert_eq!(info.socket_path, runtime_dir.join("daemon.sock"));

    let settings = first.settings().await.unwrap();
    assert!(settings.history_status.contains("Windows Credential Manager"), "{}", settings.history_status);
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("duck.glb");
    let (id, files) = finish(&first, request(&output, fast())).await;
    assert_eq!(files, [output.clone()]);
    let glb = std::fs::read(&output).unwrap();
    assert_eq!(&glb[..4], b"glTF");
    let id = id.expect("history is on by default");

    // Encrypted at rest: no blob under the data folder holds a recognisable part of the GLB.
    let mut pending = vec![info.store_path.join("history").join("blobs")];
    let mut blobs = 0;
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            blobs += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert!(!bytes.windows(32).any(|window| window == &glb[64..96]), "{} holds plaintext", path.display());
        }
    }
    assert!(blobs >= 3, "input, asset and thumbnail are kept: {blobs}");

    first.shutdown().await.unwrap();
    drop((first, second));
    // The pipe goes with the daemon; the next client starts a new daemon, which finds the key.
    let mut client = None;
    for _ in 0..200 {
        match Client::connect(&options).await {
            Ok(connected) if connected.info().await.is_ok_and(|again| again.pid != info.pid) => {
                client = Some(connected);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let client = client.expect("a new daemon after the first stopped");
    assert_eq!(client.download(&id, Artifact::Asset).await.unwrap(), glb);
    assert_eq!(client.history(10, None).await.unwrap().entries[0].id, id);
    assert_eq!(client.delete(&id).await.unwrap().count, 1);
    client.shutdown().await.unwrap();
}

/// Many connections at once: each pipe instance serves one client, and the listener keeps making
/// new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_clients_with_three_jobs_each_all_finish_over_the_pipe() {
    let daemon = Daemon::start(&[]);
    let outputs = tempfile::tempdir().unwrap();
    let mut clients = Vec::new();
    for client_index in 0..3 {
        let client = daemon.client().await;
        let folder = outputs.path().to_path_buf();
        clients.push(tokio::spawn(async move {
            let mut streams = Vec::new();
            for job in 0..3 {
                let output = folder.join(format!("c{client_index}-j{job}.glb"));
                streams.push((output.clone(), client.generate(request(&output, fast())).await.unwrap()));
            }
            for (output, mut events) in streams {
                let seen = events_of(&mut events).await;
                assert!(matches!(seen.last(), Some(JobEvent::Finished { .. })), "{seen:?}");
                assert!(output.exists());
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let history = daemon.client().await.history(20, None).await.unwrap();
    assert_eq!(history.total, 9);
    assert!(daemon.data.as_path().join("history").join("history.db").exists());
}

/// Cancel reaches the engine over the pipe, and a client that goes away cancels its job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_disconnect_stop_the_work() {
    let daemon = Daemon::start(&[]);
    let client = daemon.client().await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("slow.glb");
    let mut events = client.generate(request(&output, GenerateOptions::default().with_grid(2048))).await.unwrap();
    let id = loop {
        match events.next().await.expect("stream ended early").expect("event") {
            JobEvent::Progress { stage: Stage::Reconstruct, job_id, .. } => break job_id,
            event => assert!(!event.is_terminal(), "ended before reconstructing: {event:?}"),
        }
    };
    assert!(client.cancel(&id).await.unwrap());
    assert!(matches!(events_of(&mut events).await.last(), Some(JobEvent::Cancelled { .. })));
    assert!(!output.exists());

    let gone = {
        let other = daemon.client().await;
        let mut events = other.generate(request(&output, GenerateOptions::default().with_grid(2048))).await.unwrap();
        events.next().await.unwrap().unwrap().job_id().to_owned()
        // `other` and its stream are dropped: the pipe connection closes.
    };
    let mut state = None;
    for _ in 0..400 {
        state = client.list_jobs().await.unwrap().into_iter().find(|job| job.job_id == gone).map(|job| job.state);
        if state == Some(threedgpt_sdk::JobState::Cancelled) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(state, Some(threedgpt_sdk::JobState::Cancelled));
}

#[test]
fn a_second_daemon_for_the_same_runtime_folder_refuses_to_start() {
    let daemon = Daemon::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(daemon.client());
    let output = Command::new(BINARY)
        .args(["serve", "--foreground"])
        .env("THREEDGPT_RUNTIME_DIR", daemon.dir.path())
        .env("THREEDGPT_DATA_DIR", daemon.data.as_path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already running"), "{stderr}");
    assert!(runtime.block_on(async { daemon.client().await.info().await }).is_ok());
}

/// The CLI, as a user runs it: generate through the daemon, status, history, stop.
#[test]
fn the_cli_generates_and_manages_the_daemon_through_the_pipe() {
    let (runtime, data, folder) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cli = |args: &[&str]| {
        let output = Command::new(BINARY)
            .args(args)
            .env("THREEDGPT_RUNTIME_DIR", runtime.path())
            .env("THREEDGPT_DATA_DIR", data.path())
            .env("THREEDGPT_DAEMON", BINARY)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "3dgpt {args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        stdout
    };
    let output = folder.path().join("duck.glb");
    let duck = example("duck.png");
    cli(&["generate", &duck.to_string_lossy(), "-o", &output.to_string_lossy(), "--faces", "1000", "--grid", "64"]);
    assert_eq!(&std::fs::read(&output).unwrap()[..4], b"glTF");
    let status = cli(&["daemon", "status", "--json"]);
    assert!(status.contains("\"running\":true"), "{status}");
    let history = cli(&["history", "list", "--json"]);
    assert!(history.contains("duck.png"), "{history}");
    cli(&["daemon", "stop"]);
    let status = Command::new(BINARY)
        .args(["daemon", "status", "--json"])
        .env("THREEDGPT_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&status.stdout).contains("\"running\":true"));
}
