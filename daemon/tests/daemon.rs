//! End-to-end tests of `3dgpt serve` through its real socket: the real binary, the SDK as client
//! (and a raw gRPC client for malformed requests).
#![cfg(unix)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use threedgpt_sdk::{
    Background, Client, ConnectOptions, Device, ErrorKind, GenerateOptions, GenerateRequest, ImageSource, JobEvent,
    JobState, Stage,
};

const BINARY: &str = env!("CARGO_BIN_EXE_3dgpt");

mod harness;
use harness::{Daemon, example, fast, request, slow};

/// A program that starts the real daemon with its history in `dir` (the SDK starts it as it would
/// start `3dgpt`), so auto-started daemons never touch the user's own history.
fn launcher(dir: &tempfile::TempDir) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.path().join("launch-3dgpt");
    let data = dir.path().join("data");
    std::fs::write(&path, format!("#!/bin/sh\nTHREEDGPT_DATA_DIR='{}' exec '{BINARY}' \"$@\"\n", data.display()))
        .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

async fn last_event(events: &mut threedgpt_sdk::JobStream) -> Vec<JobEvent> {
    let mut seen = Vec::new();
    let read = async {
        while let Some(event) = events.next().await {
            seen.push(event.expect("event"));
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read).await.expect("the job never ended");
    seen
}

async fn wait_for_stage(events: &mut threedgpt_sdk::JobStream, wanted: Stage) -> String {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(60), events.next())
            .await
            .expect("no progress")
            .expect("stream ended early")
            .expect("event");
        if let JobEvent::Progress { stage, .. } = &event
            && *stage == wanted
        {
            return event.job_id().to_owned();
        }
        assert!(!event.is_terminal(), "job ended before reaching {wanted:?}: {event:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_client_starts_the_daemon_and_generates() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        ConnectOptions::default().with_socket_path(dir.path().join("daemon.sock")).with_daemon_program(launcher(&dir));
    let client = Client::connect(&options).await.expect("autostart");
    let output = dir.path().join("duck.glb");
    let mut events = client.generate(request(&output, fast())).await.unwrap();
    let seen = last_event(&mut events).await;
    assert!(matches!(seen.first(), Some(JobEvent::Queued { position: 1, .. })), "{seen:?}");
    assert!(seen.iter().any(|event| matches!(event, JobEvent::Started { .. })));
    assert!(seen.iter().any(|event| matches!(event, JobEvent::Progress { stage: Stage::Export, .. })));
    let Some(JobEvent::Finished { files, record, .. }) = seen.last() else {
        panic!("did not finish: {seen:?}");
    };
    assert_eq!(files, &vec![output.clone()]);
    assert!(output.exists());
    assert_eq!(record["faces"], 1000);
    let info = client.info().await.unwrap();
    assert_eq!(info.api_version, "v1");
    assert_eq!(info.socket_path, dir.path().join("daemon.sock"));
    client.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_racing_to_start_the_daemon_share_one() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        ConnectOptions::default().with_socket_path(dir.path().join("daemon.sock")).with_daemon_program(launcher(&dir));
    let (first, second) = tokio::join!(Client::connect(&options), Client::connect(&options));
    let (first, second) = (first.expect("first client"), second.expect("second client"));
    let (a, b) = (first.info().await.unwrap(), second.info().await.unwrap());
    assert_eq!(a.pid, b.pid, "two daemons were started");
    first.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_clients_with_five_jobs_each_all_finish() {
    let daemon = Daemon::start(&[]);
    let outputs = tempfile::tempdir().unwrap();
    let mut clients = Vec::new();
    for client_index in 0..3 {
        let client = daemon.client().await;
        let folder = outputs.path().to_path_buf();
        clients.push(tokio::spawn(async move {
            let mut streams = Vec::new();
            for job in 0..5 {
                let output = folder.join(format!("c{client_index}-j{job}.glb"));
                streams.push((output.clone(), client.generate(request(&output, fast())).await.unwrap()));
            }
            let mut finished = 0;
            for (output, mut events) in streams {
                let seen = last_event(&mut events).await;
                assert!(matches!(seen.last(), Some(JobEvent::Finished { .. })), "{seen:?}");
                assert!(output.exists());
                finished += 1;
            }
            finished
        }));
    }
    let mut total = 0;
    for client in clients {
        total += client.await.unwrap();
    }
    assert_eq!(total, 15);
    let jobs = daemon.client().await.list_jobs().await.unwrap();
    assert_eq!(jobs.iter().filter(|job| job.state == JobState::Finished).count(), 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_mid_stage_stops_the_work_and_writes_nothing() {
    let daemon = Daemon::start(&[]);
    let client = daemon.client().await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("slow.glb");
    let mut events = client.generate(request(&output, slow())).await.unwrap();
    let id = wait_for_stage(&mut events, Stage::Reconstruct).await;
    assert!(client.cancel(&id).await.unwrap());
    let seen = last_event(&mut events).await;
    assert!(matches!(seen.last(), Some(JobEvent::Cancelled { .. })), "{seen:?}");
    assert!(!output.exists());
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0, "something was left behind");
    assert!(!client.cancel(&id).await.unwrap(), "an ended job is not active");
    // The daemon is healthy and takes new work.
    let mut events = client.generate(request(&folder.path().join("next.glb"), fast())).await.unwrap();
    assert!(matches!(last_event(&mut events).await.last(), Some(JobEvent::Finished { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_cancels_its_job_unless_it_detached() {
    let daemon = Daemon::start(&[]);
    let folder = tempfile::tempdir().unwrap();
    let id = {
        let client = daemon.client().await;
        let mut events = client.generate(request(&folder.path().join("gone.glb"), slow())).await.unwrap();
        wait_for_stage(&mut events, Stage::Reconstruct).await
        // The client and its stream are dropped here: the connection closes.
    };
    let observer = daemon.client().await;
    let mut state = JobState::Running;
    for _ in 0..400 {
        state = observer.list_jobs().await.unwrap().into_iter().find(|job| job.job_id == id).unwrap().state;
        if state != JobState::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(state, JobState::Cancelled);

    // A detached job goes on; a new connection re-attaches to it with Watch.
    let output = folder.path().join("detached.glb");
    let id = {
        let client = daemon.client().await;
        let mut events = client.generate(request(&output, fast()).with_detach(true)).await.unwrap();
        events.next().await.unwrap().unwrap().job_id().to_owned()
    };
    let client = daemon.client().await;
    let mut events = client.watch(&id).await.unwrap();
    let seen = last_event(&mut events).await;
    assert!(matches!(seen.last(), Some(JobEvent::Finished { .. })), "{seen:?}");
    assert!(output.exists());
    let error = client.watch("job-0-0").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_with_resource_exhausted() {
    let daemon = Daemon::start(&["--workers", "1", "--max-queue", "1"]);
    let client = daemon.client().await;
    let folder = tempfile::tempdir().unwrap();
    let mut running = client.generate(request(&folder.path().join("a.glb"), slow())).await.unwrap();
    let running_id = wait_for_stage(&mut running, Stage::Reconstruct).await;
    let mut waiting = client.generate(request(&folder.path().join("b.glb"), slow())).await.unwrap();
    let Some(Ok(JobEvent::Queued { position: 1, job_id: waiting_id })) = waiting.next().await else {
        panic!("the second job should wait at position 1");
    };
    let error = match client.generate(request(&folder.path().join("c.glb"), fast())).await {
        Err(error) => error,
        Ok(mut refused) => match refused.next().await {
            Some(Err(error)) => error,
            other => panic!("a third job was accepted into a full queue: {other:?}"),
        },
    };
    assert_eq!(error.kind(), ErrorKind::ResourceExhausted, "{error}");
    assert!(error.to_string().contains("queue is full"), "{error}");
    client.cancel(&waiting_id).await.unwrap();
    client.cancel(&running_id).await.unwrap();
    assert!(matches!(last_event(&mut waiting).await.last(), Some(JobEvent::Cancelled { .. })));
    assert!(matches!(last_event(&mut running).await.last(), Some(JobEvent::Cancelled { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_fail_their_job_and_the_daemon_lives_on() {
    let daemon = Daemon::start(&[]);
    let client = daemon.client().await;
    let folder = tempfile::tempdir().unwrap();
    let corrupt = GenerateRequest::new(
        ImageSource::Bytes {
            name: "broken.png".into(),
            bytes: std::fs::read(example("duck.png")).unwrap()[..300].to_vec(),
        },
        folder.path().join("x.glb"),
    );
    let mut events = client.generate(corrupt).await.unwrap();
    let Some(JobEvent::Failed { kind, message, .. }) = last_event(&mut events).await.pop() else {
        panic!("a corrupt image should fail");
    };
    assert!(message.contains("broken.png") && message.contains("corrupt or truncated"), "{message}");
    assert_eq!(kind, ErrorKind::InvalidInput, "{message}");

    let missing =
        GenerateRequest::new(ImageSource::Path(folder.path().join("missing.png")), folder.path().join("y.glb"));
    let error = match client.generate(missing).await {
        Err(error) => error,
        Ok(mut events) => events.next().await.unwrap().unwrap_err(),
    };
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");

    let bad_option = request(&folder.path().join("z.glb"), GenerateOptions::default().with_texture_size(1000));
    let error = match client.generate(bad_option).await {
        Err(error) => error,
        Ok(mut events) => events.next().await.unwrap().unwrap_err(),
    };
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("texture_size"), "{error}");

    let unknown_model = request(&folder.path().join("m.glb"), GenerateOptions::default().with_model("nope"));
    let error = match client.generate(unknown_model).await {
        Err(error) => error,
        Ok(mut events) => events.next().await.unwrap().unwrap_err(),
    };
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(client.info().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cancels_running_work_cleanly_and_removes_the_socket() {
    let mut daemon = Daemon::start(&[]);
    let client = daemon.client().await;
    let folder = tempfile::tempdir().unwrap();
    let mut events = client.generate(request(&folder.path().join("slow.glb"), slow())).await.unwrap();
    wait_for_stage(&mut events, Stage::Reconstruct).await;
    let status = Command::new("kill").args(["-TERM", &daemon.pid().to_string()]).status().unwrap();
    assert!(status.success());
    let seen = last_event(&mut events).await;
    assert!(matches!(seen.last(), Some(JobEvent::Cancelled { .. })), "{seen:?}");
    let exit = daemon.child.take().unwrap().wait().unwrap();
    assert!(exit.success(), "daemon exited with {exit}");
    assert!(!daemon.socket().exists(), "the socket was left behind");
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0, "a partial file was left behind");
}

#[test]
fn a_second_daemon_for_the_same_user_refuses_to_start() {
    let daemon = Daemon::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(daemon.client());
    let output = Command::new(BINARY)
        .args(["serve", "--foreground"])
        .env("THREEDGPT_RUNTIME_DIR", daemon.dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already running"), "{stderr}");
    // The first one still answers.
    assert!(runtime.block_on(async { daemon.client().await.info().await }).is_ok());
}

#[test]
fn another_user_cannot_reach_the_daemon() {
    let daemon = Daemon::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(daemon.client());
    let mode = std::fs::metadata(daemon.dir.path()).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o700);
    let socket_mode = std::fs::metadata(daemon.socket()).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&socket_mode.permissions()) & 0o777, 0o600);
    if rustix::process::getuid().is_root() {
        // Run a client as `nobody`: it must not get an answer from this user's daemon.
        let output = Command::new(BINARY)
            .args(["daemon", "status", "--json"])
            .env("THREEDGPT_RUNTIME_DIR", daemon.dir.path())
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!stdout.contains("\"running\":true"), "another user reached the daemon: {stdout}");
    }
}

/// A folder on a tmpfs of `size` ("1m"), with `options` ("ro"): the tests run as root.
struct Mounted(tempfile::TempDir);

impl Mounted {
    fn new(size: &str, options: &str) -> Mounted {
        let folder = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},{options}"), "tmpfs"])
            .arg(folder.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "could not mount a tmpfs on {} (the tests need root)", folder.path().display());
        Mounted(folder)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_failure_the_engine_can_meet_reaches_the_sdk_as_its_error_kind() {
    let daemon = Daemon::start(&[]);
    let client = daemon.client().await;
    let folder = tempfile::tempdir().unwrap();
    let duck = std::fs::read(example("duck.png")).unwrap();
    let blank = {
        let mut png = Vec::new();
        image::RgbImage::from_pixel(64, 64, image::Rgb([250, 250, 250]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    };
    let read_only = Mounted::new("1m", "ro");
    let full = Mounted::new("8k", "rw");
    let bytes = |name: &str, bytes: &[u8]| ImageSource::Bytes { name: name.to_owned(), bytes: bytes.to_vec() };
    let cases = [
        ("corrupt", bytes("broken.png", &duck[..300]), folder.path().join("a.glb"), ErrorKind::InvalidInput),
        (
            "truncated",
            bytes("cut.jpg", &std::fs::read(example("ring.jpg")).unwrap()[..4000]),
            folder.path().join("b.glb"),
            ErrorKind::InvalidInput,
        ),
        ("not an image", bytes("notes.txt", b"plain text"), folder.path().join("c.glb"), ErrorKind::InvalidInput),
        ("blank", bytes("blank.png", &blank), folder.path().join("d.glb"), ErrorKind::NoObject),
        ("no such folder", bytes("duck.png", &duck), folder.path().join("missing/e.glb"), ErrorKind::NotFound),
        ("read-only disk", bytes("duck.png", &duck), read_only.path().join("f.glb"), ErrorKind::PermissionDenied),
        ("full disk", bytes("duck.png", &duck), full.path().join("g.glb"), ErrorKind::ResourceExhausted),
    ];
    for (case, image, output, expected) in cases {
        let request = GenerateRequest::new(image, &output).with_options(fast());
        let mut events = client.generate(request).await.unwrap();
        let Some(JobEvent::Failed { kind, message, .. }) = last_event(&mut events).await.pop() else {
            panic!("{case}: the job should fail");
        };
        assert_eq!(kind, expected, "{case}: {message}");
    }
}

async fn finish(client: &Client, request: GenerateRequest) -> (Option<String>, Vec<PathBuf>) {
    let mut events = client.generate(request).await.unwrap();
    match last_event(&mut events).await.pop() {
        Some(JobEvent::Finished { generation_id, files, .. }) => (generation_id, files),
        other => panic!("did not finish: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_keeps_generations_encrypted_and_delete_removes_their_bytes() {
    let daemon = Daemon::start(&[]);
    let client = daemon.client().await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("duck.glb");
    let (id, _) = finish(&client, request(&output, fast().with_reproducible(true))).await;
    let id = id.expect("history is on by default");
    let page = client.history(10, None).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.entries[0].id, id);
    assert_eq!(page.entries[0].record["faces"], 1000);

    let glb = std::fs::read(&output).unwrap();
    assert_eq!(client.download(&id, threedgpt_sdk::Artifact::Asset).await.unwrap(), glb);
    let thumbnail = client.download(&id, threedgpt_sdk::Artifact::Thumbnail).await.unwrap();
    assert_eq!(&thumbnail[1..4], b"PNG");
    let input = client.download(&id, threedgpt_sdk::Artifact::Input).await.unwrap();
    assert_eq!(input, std::fs::read(example("duck.png")).unwrap());

    // Nothing on disk holds the GLB, the picture or any recognisable part of them.
    let blobs = daemon.blob_files();
    assert_eq!(blobs.len(), 3);
    for blob in &blobs {
        let bytes = std::fs::read(blob).unwrap();
        for plaintext in [&glb, &input] {
            assert!(
                !bytes.windows(32).any(|window| window == &plaintext[64..96]),
                "{} holds plaintext",
                blob.display()
            );
        }
        assert!(!bytes.windows(4).any(|window| window == b"glTF"));
    }

    let exported = folder.path().join("again.glb");
    client.export(&id, &exported).await.unwrap();
    assert_eq!(std::fs::read(&exported).unwrap(), glb);
    // Any other format, from the stored asset.
    let files = client.export(&id, &folder.path().join("again.obj")).await.unwrap();
    let names: Vec<_> = files.iter().map(|file| file.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["again_texture.png", "again.mtl", "again.obj"]);
    let stl = client.download_as(&id, threedgpt_sdk::Artifact::Asset, threedgpt_sdk::Format::Stl).await.unwrap();
    assert_eq!(stl.len(), 84 + 50 * 1000, "an STL of the 1000-face asset");
    let error = client.download_as(&id, threedgpt_sdk::Artifact::Asset, threedgpt_sdk::Format::Obj).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);

    assert_eq!(client.delete(&id).await.unwrap().count, 1);
    assert!(daemon.blob_files().is_empty(), "the deleted generation's bytes are still on disk");
    assert_eq!(client.history(10, None).await.unwrap().total, 0);
    let error = client.download(&id, threedgpt_sdk::Artifact::Asset).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);

    finish(&client, request(&folder.path().join("a.glb"), fast())).await;
    finish(&client, request(&folder.path().join("b.glb"), fast().with_faces(900))).await;
    assert_eq!(client.delete_all().await.unwrap().count, 2);
    assert!(daemon.blob_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_history_off_nothing_is_kept_and_the_setting_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    {
        let daemon = Daemon::start_with_data(data.path(), &[]);
        let client = daemon.client().await;
        let settings = client.set_history_enabled(false).await.unwrap();
        assert!(!settings.history_enabled && settings.history_available);
        let (id, files) = finish(&client, request(&folder.path().join("off.glb"), fast())).await;
        assert_eq!(id, None);
        assert!(files[0].exists(), "the asset itself is still written");
        assert_eq!(client.history(10, None).await.unwrap().total, 0);
        assert!(daemon.blob_files().is_empty());
    }
    let daemon = Daemon::start_with_data(data.path(), &[]);
    assert!(!daemon.client().await.settings().await.unwrap().history_enabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_mid_generation_leaves_a_consistent_history() {
    let data = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let kept_id;
    {
        let mut daemon = Daemon::start_with_data(data.path(), &[]);
        let client = daemon.client().await;
        kept_id = finish(&client, request(&folder.path().join("kept.glb"), fast())).await.0.unwrap();
        let mut events = client.generate(request(&folder.path().join("killed.glb"), slow())).await.unwrap();
        wait_for_stage(&mut events, Stage::Reconstruct).await;
        let mut child = daemon.child.take().unwrap();
        child.kill().unwrap(); // SIGKILL: no chance to clean up.
        child.wait().unwrap();
        // The client learns that its connection broke (not that the daemon refused something).
        let broken = loop {
            match events.next().await {
                Some(Ok(_)) => continue,
                Some(Err(error)) => break error,
                None => panic!("the stream ended without saying the connection broke"),
            }
        };
        assert!(matches!(broken, threedgpt_sdk::SdkError::Disconnected(_)), "{broken:?}");
        assert_eq!(broken.kind(), ErrorKind::Unavailable);
    }
    let daemon = Daemon::start_with_data(data.path(), &[]);
    let client = daemon.client().await;
    let page = client.history(10, None).await.unwrap();
    assert_eq!(page.entries.iter().map(|entry| entry.id.clone()).collect::<Vec<_>>(), vec![kept_id.clone()]);
    assert!(client.download(&kept_id, threedgpt_sdk::Artifact::Asset).await.is_ok());
    assert_eq!(daemon.blob_files().len(), 3, "orphaned or missing blobs");
    assert!(!folder.path().join("killed.glb").exists());
    let (id, _) = finish(&client, request(&folder.path().join("after.glb"), fast())).await;
    assert!(id.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_tcp_needs_the_token_and_refuses_web_pages() {
    let daemon = Daemon::start(&["--tcp", "127.0.0.1:0"]);
    daemon.client().await;
    let address_file = daemon.dir.path().join("tcp-address");
    for _ in 0..200 {
        if address_file.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let address: std::net::SocketAddr = std::fs::read_to_string(&address_file).unwrap().trim().parse().unwrap();
    let token = std::fs::read_to_string(daemon.dir.path().join("tcp-token")).unwrap();
    let mode = std::fs::metadata(daemon.dir.path().join("tcp-token")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o600);

    let client = Client::connect(&ConnectOptions::default().with_tcp(address, token.clone())).await.unwrap();
    assert_eq!(client.info().await.unwrap().api_version, "v1");
    let folder = tempfile::tempdir().unwrap();
    let (_, files) = finish(&client, request(&folder.path().join("tcp.glb"), fast())).await;
    assert!(files[0].exists());

    let wrong = Client::connect(&ConnectOptions::default().with_tcp(address, "0".repeat(64))).await.unwrap();
    let error = wrong.info().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
    assert!(error.to_string().contains("tcp-token"), "{error}");

    // A browser-originated request, even with the right token, is refused.
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{address}")).unwrap().connect().await.unwrap();
    let mut raw = threedgpt_proto::v1::system_client::SystemClient::new(channel);
    let mut request = tonic::Request::new(threedgpt_proto::v1::InfoRequest {});
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request.metadata_mut().insert("origin", "http://example.com".parse().unwrap());
    let status = raw.info(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);

    let refused = Command::new(BINARY)
        .args(["serve", "--foreground", "--tcp", "0.0.0.0:0"])
        .env("THREEDGPT_RUNTIME_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a loopback address"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_shared_fairly_between_clients() {
    let daemon = Daemon::start(&["--workers", "1"]);
    let observer = daemon.client().await;
    let folder = tempfile::tempdir().unwrap();
    // Each `3dgpt generate --detach` is its own process, so its own client.
    let detach = |outputs: &[&str], grid: &str| {
        let mut command = Command::new(BINARY);
        command.args(["generate", "--detach", "--grid", grid, "-o"]).arg(folder.path());
        for _ in outputs {
            command.arg(example("duck.png"));
        }
        let output = command.env("THREEDGPT_RUNTIME_DIR", daemon.dir.path()).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().lines().map(str::to_owned).collect::<Vec<_>>()
    };
    // Client A queues a batch of three slow jobs; then client B queues one.
    let batch = detach(&["a1", "a2", "a3"], "2048");
    let single = detach(&["b1"], "2048");
    let jobs = observer.list_jobs().await.unwrap();
    let position = |id: &str| jobs.iter().find(|job| job.job_id == id).and_then(|job| job.position);
    assert_eq!(jobs.iter().find(|job| job.job_id == batch[0]).unwrap().state, JobState::Running);
    assert_eq!(position(&single[0]), Some(1), "the other client's job should run next: {jobs:?}");
    assert_eq!(position(&batch[1]), Some(2));
    assert_eq!(position(&batch[2]), Some(3));
    for id in batch.iter().chain(&single) {
        observer.cancel(id).await.unwrap();
    }
}

/// ONNX Runtime's CPU library, installed into target/onnxruntime by the set-up script when missing.
fn onnxruntime() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let folder = workspace.join("target").join("onnxruntime");
    let library = folder.join(threedgpt_neural::runtime::LIBRARY);
    if !library.exists() {
        let status = Command::new(workspace.join("scripts/install_onnxruntime.sh")).arg(&folder).status();
        assert!(status.is_ok_and(|status| status.success()), "scripts/install_onnxruntime.sh failed");
    }
    library
}

/// The tiny ONNX test models and their manifests (models/tools/make_test_models.py, run with the
/// test venv's Python, which has `onnx`).
fn tiny_models(folder: &Path) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = std::env::var_os("THREEDGPT_PYTHON").map_or_else(|| workspace.join(".venv/bin/python"), PathBuf::from);
    let output = Command::new(&python)
        .arg(workspace.join("models/tools/make_test_models.py"))
        .arg(folder)
        .output()
        .unwrap_or_else(|error| panic!("{} (made by scripts/test.sh) could not run: {error}", python.display()));
    assert!(output.status.success(), "make_test_models.py failed: {}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_install_verify_remove_and_onnx_runtime_shows_in_info() {
    let library = onnxruntime();
    let data = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    tiny_models(models.path());
    // The CLI installs and removes through the daemon (the same one the test talks to).
    let daemon = Daemon::start_with_data(data.path(), &["--onnxruntime", library.to_str().unwrap()]);
    let client = daemon.client().await;
    let cli_of = |runtime: &Path, args: &[&str]| {
        Command::new(BINARY)
            .args(args)
            .env("THREEDGPT_DATA_DIR", data.path())
            .env("THREEDGPT_RUNTIME_DIR", runtime)
            .output()
            .unwrap()
    };
    let cli = |args: &[&str]| cli_of(daemon.dir.path(), args);
    let manifest = models.path().join("tiny-segmentation.toml");
    let model_file = models.path().join("tiny-segmentation/model.onnx");

    // A manifest whose SHA-256 does not match the file: refused, nothing left behind.
    let wrong = models.path().join("wrong.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let sha = text.lines().find_map(|line| line.strip_prefix("sha256 = ")).unwrap().trim_matches('"').to_owned();
    std::fs::write(&wrong, text.replace(&sha, &"0".repeat(64))).unwrap();
    let refused = cli(&["models", "install", wrong.to_str().unwrap(), "--from", model_file.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("SHA-256"), "{refused:?}");
    assert_eq!(std::fs::read_dir(data.path().join("models")).unwrap().count(), 0);

    let installed = cli(&["models", "install", manifest.to_str().unwrap(), "--from", model_file.to_str().unwrap()]);
    assert!(installed.status.success(), "{installed:?}");
    assert!(String::from_utf8_lossy(&installed.stdout).contains("installed tiny-segmentation"));
    assert!(cli(&["models", "verify", "tiny-segmentation"]).status.success());

    let info = client.info().await.unwrap();
    let (path, version) = info.onnxruntime.clone().expect("ONNX Runtime loaded");
    assert_eq!((path, version.as_str()), (library.clone(), threedgpt_neural::runtime::VERSION));
    assert_eq!(info.execution_providers, ["CPU"], "the CPU library offers the CPU provider only");
    let listed = client.models().await.unwrap();
    let tiny = listed.iter().find(|model| model.name == "tiny-segmentation").expect("listed");
    assert_eq!((tiny.kind.as_str(), tiny.provider.as_str(), tiny.installed), ("segmentation", "CPU", true));
    assert!(tiny.size_bytes > 0);

    // The segmentation model finds the object (its disc), the built-in reconstructor builds it.
    let output = daemon.dir.path().join("seg.glb");
    let segmented = GenerateRequest::new(ImageSource::Path(example("ring.jpg")), &output)
        .with_options(fast().with_background(Background::Model("tiny-segmentation".into())));
    let events = last_event(&mut client.generate(segmented).await.unwrap()).await;
    let Some(JobEvent::Finished { record, .. }) = events.last() else { panic!("{events:?}") };
    // No GPU here: the model was tried on CUDA and runs on the CPU, and the job says so.
    let (device, background) = events
        .iter()
        .find_map(|event| match event {
            JobEvent::Started { device, background, .. } => Some((device.clone(), background.clone())),
            _ => None,
        })
        .expect("a started event");
    assert_eq!(background, "tiny-segmentation");
    assert!(device.contains("segmentation on CPU (") && device.contains("CUDA is unavailable"), "{device}");
    assert_eq!(record["mask"], "segmentation", "{record}");
    assert_eq!(record["segmentation_model"], "tiny-segmentation");
    assert_eq!(record["model"], "relief");
    assert!(record["watertight"].as_bool().unwrap() && output.exists());
    // The model sees a disc; the refinement with the picture opens the ring's hole again.
    assert_eq!(record["genus"], 1, "{record}");

    // The CPU when asked: no GPU attempt, no reason given. The GPU when required: a clear refusal.
    let on_cpu = GenerateRequest::new(ImageSource::Path(example("ring.jpg")), daemon.dir.path().join("cpu.glb"))
        .with_options(fast().with_background(Background::Model("tiny-segmentation".into())).with_device(Device::Cpu));
    let events = last_event(&mut client.generate(on_cpu).await.unwrap()).await;
    let started = events.iter().find_map(|event| match event {
        JobEvent::Started { device, .. } => Some(device.clone()),
        _ => None,
    });
    assert_eq!(started.as_deref(), Some("cpu; segmentation on CPU"), "{events:?}");
    let on_gpu = GenerateRequest::new(ImageSource::Path(example("ring.jpg")), daemon.dir.path().join("gpu.glb"))
        .with_options(fast().with_background(Background::Model("tiny-segmentation".into())).with_device(Device::Gpu));
    let error = client.generate(on_gpu).await.expect_err("no GPU here");
    assert!(error.to_string().contains("cannot run on the GPU here") && error.to_string().contains("\"cpu\""));
    assert!(!daemon.dir.path().join("gpu.glb").exists());

    // A depth model shapes the built-in relief's front (the test model's left-to-right ramp).
    let depth = models.path().join("tiny-depth.toml");
    let depth_files = models.path().join("tiny-depth");
    assert!(
        cli(&["models", "install", depth.to_str().unwrap(), "--from", depth_files.to_str().unwrap()]).status.success()
    );
    let shaped = GenerateRequest::new(ImageSource::Path(example("duck.png")), daemon.dir.path().join("depth.glb"))
        .with_options(fast().with_depth("tiny-depth"));
    let events = last_event(&mut client.generate(shaped).await.unwrap()).await;
    let Some(JobEvent::Finished { record, .. }) = events.last() else { panic!("{events:?}") };
    assert_eq!((record["model"].as_str(), record["depth_model"].as_str()), (Some("relief"), Some("tiny-depth")));
    assert!(record["watertight"].as_bool().unwrap(), "{record}");
    // A model a job holds cannot be removed under it; once the job has ended it can.
    let holding = GenerateRequest::new(ImageSource::Path(example("duck.png")), daemon.dir.path().join("held.glb"))
        .with_options(slow().with_depth("tiny-depth"));
    let mut events = client.generate(holding).await.unwrap();
    let job_id = wait_for_stage(&mut events, Stage::Reconstruct).await;
    let refused = client.remove_model("tiny-depth").await.expect_err("a job holds it");
    assert_eq!(refused.kind(), ErrorKind::Precondition, "{refused}");
    assert!(refused.to_string().contains("in use by a running or queued job"), "{refused}");
    assert!(!cli(&["models", "remove", "tiny-depth"]).status.success());
    client.cancel(&job_id).await.unwrap();
    last_event(&mut events).await;
    assert!(cli(&["models", "remove", "tiny-depth"]).status.success());
    assert!(client.models().await.unwrap().iter().all(|model| model.name != "tiny-depth"));

    let sphere = models.path().join("tiny-sphere.toml");
    let sphere_files = models.path().join("tiny-sphere");
    assert!(
        cli(&["models", "install", sphere.to_str().unwrap(), "--from", sphere_files.to_str().unwrap()])
            .status
            .success()
    );
    // The triplane model builds the shape and its colours: the test model's sphere.
    let output = daemon.dir.path().join("sphere.glb");
    let triplane = GenerateRequest::new(ImageSource::Path(example("duck.png")), &output)
        .with_options(fast().with_model("tiny-sphere"));
    let events = last_event(&mut client.generate(triplane).await.unwrap()).await;
    let Some(JobEvent::Finished { record, .. }) = events.last() else { panic!("{events:?}") };
    assert_eq!(record["model"], "tiny-sphere", "{record}");
    assert!(record["watertight"].as_bool().unwrap() && record["genus"] == 0, "{record}");
    let device = events.iter().find_map(|event| match event {
        JobEvent::Started { device, .. } => Some(device.clone()),
        _ => None,
    });
    assert!(device.unwrap().contains("triplane on CPU (TensorRT is unavailable"));
    let size = record["size_m"].as_array().unwrap();
    assert!(size.iter().all(|side| (side.as_f64().unwrap() - 1.0).abs() < 0.02), "a sphere: {record}");
    assert!(std::fs::metadata(&output).unwrap().len() > 1000);
    assert!(cli(&["models", "remove", "tiny-sphere"]).status.success());

    drop(daemon);

    // Without ONNX Runtime, choosing the model says what is missing; the built-in still works.
    let fake = data.path().join("libonnxruntime.so.1.31.1");
    std::fs::write(&fake, b"not a shared library").unwrap();
    let daemon = Daemon::start_with_data(data.path(), &["--onnxruntime", fake.to_str().unwrap()]);
    let client = daemon.client().await;
    let cli = |args: &[&str]| cli_of(daemon.dir.path(), args);
    let info = client.info().await.unwrap();
    assert!(info.onnxruntime.is_none() && info.execution_providers.is_empty());
    assert!(info.onnxruntime_status.contains("could not load ONNX Runtime"), "{}", info.onnxruntime_status);
    assert!(info.onnxruntime_status.contains("install_onnxruntime.sh"), "{}", info.onnxruntime_status);
    let segmented = GenerateRequest::new(ImageSource::Path(example("duck.png")), daemon.dir.path().join("s.glb"))
        .with_options(fast().with_background(Background::Model("tiny-segmentation".into())));
    let error = client.generate(segmented).await.expect_err("refused");
    assert!(error.to_string().contains("needs ONNX Runtime"), "{error}");
    let output = daemon.dir.path().join("relief.glb");
    assert!(matches!(
        last_event(&mut client.generate(request(&output, fast())).await.unwrap()).await.last(),
        Some(JobEvent::Finished { .. })
    ));

    // A damaged installed file fails verification; remove takes the model away.
    std::fs::write(data.path().join("models/tiny-segmentation/model.onnx"), b"damaged").unwrap();
    let verify = cli(&["models", "verify", "tiny-segmentation"]);
    assert!(!verify.status.success() && String::from_utf8_lossy(&verify.stderr).contains("download it again"));
    assert!(cli(&["models", "remove", "tiny-segmentation"]).status.success());
    assert!(!client.models().await.unwrap().iter().any(|model| model.name == "tiny-segmentation"));
}

/// A blocking host for tests: waits in place, and raises an interrupt when asked to.
struct PlainHost(std::sync::atomic::AtomicBool);

impl threedgpt_sdk::blocking::Host for PlainHost {
    type Error = &'static str;

    fn unlocked<R: Send>(&self, wait: impl FnOnce() -> R + Send) -> R {
        wait()
    }

    fn check(&self) -> Result<(), &'static str> {
        if self.0.load(std::sync::atomic::Ordering::SeqCst) { Err("interrupted") } else { Ok(()) }
    }
}

/// The blocking SDK that the Python module (and next the Godot plugin) sit on: one thread reads a
/// job's events while another cancels it, and the host's interrupt ends a wait within a slice.
#[test]
fn the_blocking_sdk_reads_events_on_one_thread_while_another_cancels() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use threedgpt_sdk::blocking::{self, Next, SLICE};

    let daemon = Daemon::start(&[]);
    let host = PlainHost(AtomicBool::new(false));
    let options = ConnectOptions::default().with_socket_path(daemon.socket()).with_autostart(false);
    let client = (0..200)
        .find_map(|_| {
            let connected = blocking::wait(&host, Client::connect(&options)).unwrap().ok();
            if connected.is_none() {
                std::thread::sleep(Duration::from_millis(25));
            }
            connected
        })
        .expect("the daemon did not come up");
    let folder = tempfile::tempdir().unwrap();
    let start = |name: &str| {
        let stream =
            blocking::wait(&host, client.generate(request(&folder.path().join(name), slow()))).unwrap().unwrap();
        blocking::Job::start(&host, client.clone(), stream).unwrap().unwrap()
    };

    let job = start("cancelled.glb");
    let reconstructing = AtomicBool::new(false);
    let seen = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut seen = Vec::new();
            loop {
                match job.next(&host, None).unwrap() {
                    Next::Event(event) => {
                        if matches!(event, JobEvent::Progress { stage: Stage::Reconstruct, .. }) {
                            reconstructing.store(true, Ordering::SeqCst);
                        }
                        let end = event.is_terminal();
                        seen.push(event);
                        if end {
                            return seen;
                        }
                    }
                    other => panic!("{other:?} before the job's end"),
                }
            }
        });
        while !reconstructing.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        // This thread cancels while the reader waits on the same job.
        assert!(job.cancel(&host).unwrap().unwrap());
        reader.join().unwrap()
    });
    assert!(matches!(seen.last(), Some(JobEvent::Cancelled { .. })), "{seen:?}");
    assert!(job.ended() && matches!(job.next(&host, None).unwrap(), Next::Ended));
    assert!(!folder.path().join("cancelled.glb").exists());

    // A deadline passes with the job still running (the first event was read ahead: it comes
    // first), and an interrupt ends a wait within a slice (or at the next event).
    let job = start("interrupted.glb");
    let past = std::time::Instant::now();
    assert!(matches!(job.next(&host, Some(past)).unwrap(), Next::Event(JobEvent::Queued { .. })));
    assert!(matches!(job.next(&host, Some(past)).unwrap(), Next::TimedOut));
    let interrupting = PlainHost(AtomicBool::new(true));
    let asked = std::time::Instant::now();
    let interrupted = loop {
        match job.next(&interrupting, None) {
            Ok(Next::Event(_)) => continue,
            other => break other,
        }
    };
    assert!(matches!(interrupted, Err("interrupted")), "{interrupted:?}");
    assert!(asked.elapsed() < SLICE * 5, "{:?}", asked.elapsed());
    assert!(!job.ended());
    assert!(job.cancel(&host).unwrap().unwrap());
}
