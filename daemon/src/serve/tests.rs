//! In-process tests of every RPC: the real services over an in-memory duplex pipe (no socket), with
//! a history store in a temporary folder.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use threedgpt_proto::v1;
use threedgpt_proto::v1::generator_client::GeneratorClient;
use threedgpt_proto::v1::history_client::HistoryClient;
use threedgpt_proto::v1::models_client::ModelsClient;
use threedgpt_proto::v1::system_client::SystemClient;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::Notify;
use tonic::transport::{Channel, Endpoint, Uri};

use super::jobs::JobQueue;
use super::recorder::Recorder;
use super::service::Daemon;
use crate::history::HistoryStore;
use crate::history::key::Fixed;

/// The server end of the pipe; tonic needs to know it has no peer address.
struct Pipe(DuplexStream);

impl tonic::transport::server::Connected for Pipe {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Pipe {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(context, buffer)
    }
}

impl AsyncWrite for Pipe {
    fn poll_write(mut self: Pin<&mut Self>, context: &mut Context<'_>, bytes: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(context, bytes)
    }
    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(context)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(context)
    }
}

struct Harness {
    channel: Channel,
    folder: tempfile::TempDir,
    shutdown: Arc<Notify>,
    budget: super::budget::ByteBudget,
}

async fn harness() -> Harness {
    let folder = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(&folder.path().join("history"), &Fixed::new(crate::history::test_key())).unwrap();
    let recorder = Arc::new(Recorder::new(Some(Arc::new(store)), "test store".to_owned(), folder.path()));
    harness_with(folder, recorder).await
}

/// The services on `recorder`, served over an in-memory pipe.
async fn harness_with(folder: tempfile::TempDir, recorder: Arc<Recorder>) -> Harness {
    harness_limited(folder, recorder, super::budget::IMAGE_BUDGET_BYTES, std::time::Duration::from_secs(30)).await
}

/// [`harness_with`] with its own budget for picture bytes and upload idle time.
async fn harness_limited(
    folder: tempfile::TempDir,
    recorder: Arc<Recorder>,
    budget_bytes: usize,
    upload_idle: std::time::Duration,
) -> Harness {
    let shutdown = Arc::new(Notify::new());
    let budget = super::budget::ByteBudget::new(budget_bytes);
    let accounts = Arc::new(crate::account::Accounts::new(folder.path(), Err("no keychain in tests".to_owned())));
    let syncer = Arc::new(crate::sync::Syncer::new(
        accounts.clone(),
        recorder.clone(),
        folder.path(),
        std::time::Duration::from_secs(3600),
    ));
    let daemon = Daemon {
        queue: JobQueue::new(2, 8, recorder.clone()),
        budget: budget.clone(),
        upload_idle,
        recorder,
        accounts,
        syncer,
        neural: Arc::new(super::neural::Neural::new(Some(&folder.path().join("no-onnxruntime.so")), folder.path())),
        shutdown: shutdown.clone(),
        socket_path: folder.path().join("daemon.sock"),
        store_path: folder.path().to_path_buf(),
    };
    let (client_end, server_end) = tokio::io::duplex(1 << 20);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(v1::generator_server::GeneratorServer::new(daemon.clone()))
            .add_service(v1::models_server::ModelsServer::new(daemon.clone()))
            .add_service(v1::history_server::HistoryServer::new(daemon.clone()))
            .add_service(v1::system_server::SystemServer::new(daemon))
            .serve_with_incoming(tokio_stream::once(Ok::<_, std::io::Error>(Pipe(server_end)))),
    );
    let mut client_end = Some(client_end);
    let channel = Endpoint::from_static("http://in-process")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let end = client_end.take();
            async move { end.map(TokioIo::new).ok_or_else(|| std::io::Error::other("the pipe is already in use")) }
        }))
        .await
        .unwrap();
    Harness { channel, folder, shutdown, budget }
}

fn duck() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/duck.png")).unwrap()
}

fn generate_request(harness: &Harness, name: &str, options: v1::GenerateOptions) -> Vec<v1::GenerateRequest> {
    let bytes = duck();
    let (first, rest) = bytes.split_at(bytes.len() / 2);
    vec![
        v1::GenerateRequest {
            options: Some(options),
            image: Some(v1::generate_request::Image::Chunk(first.to_vec())),
            name: "duck.png".to_owned(),
            output_path: harness.folder.path().join(name).display().to_string(),
            detach: false,
            mask_chunk: Vec::new(),
            ..Default::default()
        },
        v1::GenerateRequest { image: Some(v1::generate_request::Image::Chunk(rest.to_vec())), ..Default::default() },
    ]
}

fn small() -> v1::GenerateOptions {
    v1::GenerateOptions { faces: Some(800), texture_size: Some(256), grid: Some(64), ..Default::default() }
}

async fn run_to_end(harness: &Harness, messages: Vec<v1::GenerateRequest>) -> Vec<v1::JobEvent> {
    let mut stream = GeneratorClient::new(harness.channel.clone())
        .generate(tokio_stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    while let Some(event) = stream.message().await.unwrap() {
        events.push(event);
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_streams_chunks_in_and_events_out_and_keeps_the_result() {
    let harness = harness().await;
    let events = run_to_end(&harness, generate_request(&harness, "duck.glb", small())).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|event| match event.kind {
            Some(v1::job_event::Kind::Queued(_)) => "queued",
            Some(v1::job_event::Kind::Started(_)) => "started",
            Some(v1::job_event::Kind::Progress(_)) => "progress",
            Some(v1::job_event::Kind::Finished(_)) => "finished",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds.first(), Some(&"queued"));
    assert_eq!(kinds.last(), Some(&"finished"));
    assert!(kinds.contains(&"started") && kinds.contains(&"progress"));
    let Some(v1::job_event::Kind::Finished(finished)) = &events.last().unwrap().kind else { unreachable!() };
    assert!(harness.folder.path().join("duck.glb").exists());
    let record: serde_json::Value = serde_json::from_str(&finished.record_json).unwrap();
    assert_eq!(record["faces"], 800);

    // History: List, Get, Download, Export, Delete.
    let mut history = HistoryClient::new(harness.channel.clone());
    let listed =
        history.list(v1::ListHistoryRequest { page_size: 10, page_token: String::new() }).await.unwrap().into_inner();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.generations[0].id, finished.generation_id);
    let got = history.get(v1::GetGenerationRequest { id: finished.generation_id.clone() }).await.unwrap().into_inner();
    assert_eq!(got.source, "duck.png");
    let mut chunks = history
        .download(v1::DownloadRequest {
            id: finished.generation_id.clone(),
            artifact: v1::Artifact::Input as i32,
            format: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut input = Vec::new();
    while let Some(chunk) = chunks.message().await.unwrap() {
        input.extend_from_slice(&chunk.data);
    }
    assert_eq!(input, duck());
    let exported = harness.folder.path().join("exported.glb");
    history
        .export(v1::ExportRequest { id: finished.generation_id.clone(), path: exported.display().to_string() })
        .await
        .unwrap();
    assert_eq!(&std::fs::read(&exported).unwrap()[..4], b"glTF");
    let status = history
        .export(v1::ExportRequest { id: finished.generation_id.clone(), path: "relative.obj".to_owned() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let deleted = history
        .delete(v1::DeleteGenerationRequest { id: finished.generation_id.clone(), this_device: false })
        .await
        .unwrap();
    assert!(deleted.into_inner().existed);
    let status = history.get(v1::GetGenerationRequest { id: finished.generation_id.clone() }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(history.delete_all(v1::DeleteAllRequest {}).await.unwrap().into_inner().deleted, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_cancel_and_list_jobs_work_on_a_running_job() {
    let harness = harness().await;
    let mut generator = GeneratorClient::new(harness.channel.clone());
    let slow = v1::GenerateOptions { grid: Some(2048), ..Default::default() };
    let mut stream = generator
        .generate(tokio_stream::iter(generate_request(&harness, "slow.glb", slow)))
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    let id = first.job_id.clone();
    let mut watcher = generator.watch(v1::WatchRequest { job_id: id.clone() }).await.unwrap().into_inner();
    assert_eq!(watcher.message().await.unwrap().unwrap().job_id, id);
    let jobs = generator.list_jobs(v1::ListJobsRequest {}).await.unwrap().into_inner().jobs;
    assert!(jobs.iter().any(|job| job.job_id == id));
    assert!(generator.cancel(v1::CancelRequest { job_id: id.clone() }).await.unwrap().into_inner().was_active);
    let mut last = None;
    while let Some(event) = watcher.message().await.unwrap() {
        last = Some(event);
    }
    assert!(matches!(last.and_then(|event| event.kind), Some(v1::job_event::Kind::Cancelled(_))));
    let status = generator.cancel(v1::CancelRequest { job_id: "job-0-0".to_owned() }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_generate_requests_get_invalid_argument() {
    let harness = harness().await;
    let mut generator = GeneratorClient::new(harness.channel.clone());
    let mut no_image = generate_request(&harness, "x.glb", small());
    no_image.truncate(1);
    no_image[0].image = None;
    let mut relative = generate_request(&harness, "x.glb", small());
    relative[0].output_path = "x.glb".to_owned();
    let mut bad_enum = generate_request(&harness, "x.glb", small());
    bad_enum[0].options.as_mut().unwrap().background = 42;
    for (name, messages) in
        [("empty", Vec::new()), ("no image", no_image), ("relative", relative), ("bad enum", bad_enum)]
    {
        let status = generator.generate(tokio_stream::iter(messages)).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{name}: {status:?}");
        assert!(!status.message().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_system_and_settings_answer() {
    let harness = harness().await;
    let models = ModelsClient::new(harness.channel.clone()).list(v1::ListModelsRequest {}).await.unwrap().into_inner();
    assert_eq!(models.models[0].name, "relief");
    let mut system = SystemClient::new(harness.channel.clone());
    let info = system.info(v1::InfoRequest {}).await.unwrap().into_inner();
    assert_eq!(info.api_version, "v1");
    assert!(info.devices[0].starts_with("cpu"));
    let settings = system.get_settings(v1::GetSettingsRequest {}).await.unwrap().into_inner();
    assert!(settings.history_enabled && settings.history_available);
    let settings = system
        .update_settings(v1::UpdateSettingsRequest { history_enabled: Some(false), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(!settings.history_enabled);
    let events = run_to_end(&harness, generate_request(&harness, "off.glb", small())).await;
    let Some(v1::job_event::Kind::Finished(finished)) = &events.last().unwrap().kind else { panic!("{events:?}") };
    assert!(finished.generation_id.is_empty(), "history is off, nothing may be kept");
    system.shutdown(v1::ShutdownRequest {}).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), harness.shutdown.notified()).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keychain_history_is_off_and_says_why_and_generation_still_works() {
    let folder = tempfile::tempdir().unwrap();
    let no_keychain = Err(crate::history::key::KeyError::NoKeychain("no secret service on the session bus".to_owned()));
    let recorder = Arc::new(super::open_history(folder.path(), no_keychain));
    assert!(recorder.store.is_none());
    assert!(recorder.status.contains("--key-file"), "{}", recorder.status);
    assert!(!folder.path().join("history").exists(), "nothing may be stored without a key");

    let harness = harness_with(tempfile::tempdir().unwrap(), recorder).await;
    let settings =
        SystemClient::new(harness.channel.clone()).get_settings(v1::GetSettingsRequest {}).await.unwrap().into_inner();
    assert!(!settings.history_available);
    assert!(settings.history_status.contains("no usable OS keychain"), "{}", settings.history_status);
    let events = run_to_end(&harness, generate_request(&harness, "nokey.glb", small())).await;
    let Some(v1::job_event::Kind::Finished(finished)) = &events.last().unwrap().kind else { panic!("{events:?}") };
    assert!(finished.generation_id.is_empty());
    let status = HistoryClient::new(harness.channel.clone()).list(v1::ListHistoryRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(status.message().contains("--key-file"), "{}", status.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_output_path_the_asset_lives_in_the_history_only() {
    let harness = harness().await;
    let mut messages = generate_request(&harness, "unused.glb", small());
    messages[0].output_path = String::new();
    let events = run_to_end(&harness, messages.clone()).await;
    let Some(v1::job_event::Kind::Finished(finished)) = &events.last().unwrap().kind else { panic!("{events:?}") };
    assert!(finished.files.is_empty());
    assert!(!finished.generation_id.is_empty());
    let mut chunks = HistoryClient::new(harness.channel.clone())
        .download(v1::DownloadRequest { id: finished.generation_id.clone(), artifact: 0, format: 0 })
        .await
        .unwrap()
        .into_inner();
    let first = chunks.message().await.unwrap().unwrap();
    assert_eq!(&first.data[..4], b"glTF");
}

/// Downloads a whole artifact, or the status that refused it.
async fn download_all(
    harness: &Harness,
    id: &str,
    artifact: v1::Artifact,
    format: v1::Format,
) -> Result<Vec<u8>, tonic::Status> {
    let request = v1::DownloadRequest { id: id.to_owned(), artifact: artifact as i32, format: format as i32 };
    let mut chunks = HistoryClient::new(harness.channel.clone()).download(request).await?.into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = chunks.message().await? {
        bytes.extend_from_slice(&chunk.data);
    }
    Ok(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_history_off_a_result_without_output_path_is_held_until_downloaded_and_never_listed() {
    let harness = harness().await;
    SystemClient::new(harness.channel.clone())
        .update_settings(v1::UpdateSettingsRequest { history_enabled: Some(false), ..Default::default() })
        .await
        .unwrap();
    let mut messages = generate_request(&harness, "unused.glb", small());
    messages[0].output_path = String::new();
    let finished = |events: Vec<v1::JobEvent>| match events.last().and_then(|event| event.kind.clone()) {
        Some(v1::job_event::Kind::Finished(finished)) => finished,
        other => panic!("{other:?}"),
    };
    let held = finished(run_to_end(&harness, messages.clone()).await);
    assert!(held.files.is_empty() && held.generation_id.starts_with("held-"), "{held:?}");
    let mut history = HistoryClient::new(harness.channel.clone());
    let listed = history.list(v1::ListHistoryRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.total, 0, "a held result is never listed");
    let entry = history.get(v1::GetGenerationRequest { id: held.generation_id.clone() }).await.unwrap().into_inner();
    assert!(entry.record_json.contains("\"faces\""));
    assert!(!harness.folder.path().join("history").join("blobs").read_dir().is_ok_and(|mut dir| dir.next().is_some()));

    // Only the asset is held; downloading it lets it go.
    let thumbnail = download_all(&harness, &held.generation_id, v1::Artifact::Thumbnail, v1::Format::Glb).await;
    assert_eq!(thumbnail.unwrap_err().code(), tonic::Code::NotFound);
    let stl = download_all(&harness, &held.generation_id, v1::Artifact::Asset, v1::Format::Stl).await.unwrap();
    assert!(stl.len() > 84);
    let again = download_all(&harness, &held.generation_id, v1::Artifact::Asset, v1::Format::Glb).await;
    assert_eq!(again.unwrap_err().code(), tonic::Code::NotFound, "downloaded once, then gone");

    // Export takes it too; delete and delete-all drop it.
    let exported = finished(run_to_end(&harness, messages.clone()).await);
    let target = harness.folder.path().join("exported.obj");
    let files = history
        .export(v1::ExportRequest { id: exported.generation_id.clone(), path: target.display().to_string() })
        .await
        .unwrap()
        .into_inner()
        .files;
    assert!(files.last().unwrap().ends_with("exported.obj") && target.exists());
    assert!(history.get(v1::GetGenerationRequest { id: exported.generation_id }).await.is_err());
    let deleted = finished(run_to_end(&harness, messages.clone()).await);
    let request = v1::DeleteGenerationRequest { id: deleted.generation_id.clone(), this_device: false };
    assert!(history.delete(request.clone()).await.unwrap().into_inner().existed);
    assert!(!history.delete(request).await.unwrap().into_inner().existed);
    finished(run_to_end(&harness, messages).await);
    assert_eq!(history.delete_all(v1::DeleteAllRequest {}).await.unwrap().into_inner().deleted, 1);
}

/// A harness with a history, a budget of `budget_bytes` for pictures and `idle` for stalled uploads.
async fn limited(budget_bytes: usize, idle: std::time::Duration) -> Harness {
    let folder = tempfile::tempdir().unwrap();
    let store = HistoryStore::open(&folder.path().join("history"), &Fixed::new(crate::history::test_key())).unwrap();
    let recorder = Arc::new(Recorder::new(Some(Arc::new(store)), "test store".to_owned(), folder.path()));
    harness_limited(folder, recorder, budget_bytes, idle).await
}

/// The status a Generate call ends with, from its first answer or its stream.
async fn failure_of(
    harness: &Harness,
    messages: impl tokio_stream::Stream<Item = v1::GenerateRequest> + Send + 'static,
) -> tonic::Status {
    match GeneratorClient::new(harness.channel.clone()).generate(messages).await {
        Err(status) => status,
        Ok(response) => {
            let mut stream = response.into_inner();
            loop {
                match stream.message().await {
                    Err(status) => return status,
                    Ok(Some(event)) => assert!(
                        !matches!(event.kind, Some(v1::job_event::Kind::Finished(_))),
                        "the request was expected to fail: {event:?}"
                    ),
                    Ok(None) => panic!("the stream ended without an error"),
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_ends_with_an_error_and_gives_its_bytes_back() {
    let harness = limited(64 << 20, std::time::Duration::from_millis(300)).await;
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let mut messages = generate_request(&harness, "stalled.glb", small());
    messages.truncate(1);
    sender.send(messages.remove(0)).await.unwrap();
    // The client sends the first half of the picture and then nothing, without closing.
    let started = std::time::Instant::now();
    let status = failure_of(&harness, tokio_stream::wrappers::ReceiverStream::new(receiver)).await;
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert!(status.message().contains("the upload stalled"), "{}", status.message());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(harness.budget.available(), 64 << 20, "the stalled upload still holds bytes");
    drop(sender);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_past_the_daemon_wide_budget_are_refused_with_resource_exhausted() {
    let harness = limited(3 << 20, std::time::Duration::from_secs(30)).await;
    // One upload that never finishes holds 2 MiB; a second one of 2 MiB does not fit beside it.
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let chunk = |bytes: Vec<u8>| v1::GenerateRequest {
        options: Some(small()),
        image: Some(v1::generate_request::Image::Chunk(bytes)),
        name: "big.png".to_owned(),
        ..Default::default()
    };
    sender.send(chunk(vec![0; 2 << 20])).await.unwrap();
    let mut generator = GeneratorClient::new(harness.channel.clone());
    let pending =
        tokio::spawn(async move { generator.generate(tokio_stream::wrappers::ReceiverStream::new(receiver)).await });
    for _ in 0..100 {
        if harness.budget.available() < 2 << 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let status = failure_of(&harness, tokio_stream::iter(vec![chunk(vec![0; 2 << 20])])).await;
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("already holds") && status.message().contains("3 MiB"), "{}", status.message());
    // Once the first goes away, its bytes come back and a normal job runs.
    drop(sender);
    let _ = pending.await;
    for _ in 0..100 {
        if harness.budget.available() == 3 << 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let events = run_to_end(&harness, generate_request(&harness, "after.glb", small())).await;
    assert!(matches!(events.last().and_then(|event| event.kind.as_ref()), Some(v1::job_event::Kind::Finished(_))));
    assert_eq!(harness.budget.available(), 3 << 20, "a finished job gives its bytes back");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pictures_named_by_path_must_be_regular_files_within_the_limit() {
    let harness = harness().await;
    let sparse = harness.folder.path().join("sparse.png");
    // 3 GiB that take no disk: read whole, it would take 3 GiB of memory.
    std::fs::File::create(&sparse).unwrap().set_len(3 << 30).unwrap();
    let fifo = harness.folder.path().join("fifo.png");
    rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, rustix::fs::Mode::from_raw_mode(0o600), 0)
        .unwrap();
    for (path, expected) in [
        (sparse.display().to_string(), "is 3072 MiB; pictures are limited to 256 MiB"),
        ("/dev/zero".to_owned(), "not a regular file"),
        (fifo.display().to_string(), "not a regular file"),
        (harness.folder.path().display().to_string(), "not a regular file"),
    ] {
        let request = v1::GenerateRequest {
            options: Some(small()),
            image: Some(v1::generate_request::Image::Path(path.clone())),
            output_path: harness.folder.path().join("x.glb").display().to_string(),
            ..Default::default()
        };
        let status = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            failure_of(&harness, tokio_stream::iter(vec![request])),
        )
        .await
        .unwrap_or_else(|_| panic!("{path}: no answer"));
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{path}: {status:?}");
        assert!(status.message().contains(expected), "{path}: {}", status.message());
    }
    assert_eq!(harness.budget.available(), super::budget::IMAGE_BUDGET_BYTES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mask_sent_in_chunks_is_put_together() {
    let harness = harness().await;
    // The duck's own alpha as a mask, sent in pieces after the options.
    let duck_image = image::load_from_memory(&duck()).unwrap().to_rgba8();
    let mask = image::GrayImage::from_fn(duck_image.width(), duck_image.height(), |x, y| {
        image::Luma([if duck_image.get_pixel(x, y)[3] > 127 { 255 } else { 0 }])
    });
    let mut mask_png = Vec::new();
    mask.write_to(&mut std::io::Cursor::new(&mut mask_png), image::ImageFormat::Png).unwrap();
    let mut messages = generate_request(
        &harness,
        "masked.glb",
        v1::GenerateOptions { background: v1::Background::Mask as i32, ..small() },
    );
    let pieces: Vec<&[u8]> = mask_png.chunks(mask_png.len() / 3 + 1).collect();
    messages[0].mask_chunk = pieces[0].to_vec();
    messages[1].mask_chunk = pieces[1].to_vec();
    messages.push(v1::GenerateRequest { mask_chunk: pieces[2].to_vec(), ..Default::default() });
    let events = run_to_end(&harness, messages).await;
    let Some(v1::job_event::Kind::Finished(finished)) = events.last().and_then(|event| event.kind.clone()) else {
        panic!("{events:?}");
    };
    let record: serde_json::Value = serde_json::from_str(&finished.record_json).unwrap();
    assert_eq!(record["mask"], "mask_image", "{record}");
}
