//! `3dgpt serve`: one daemon per user on a private local socket (a named pipe on Windows), running
//! the engine for every client through the job queue.

mod account_service;
mod budget;
mod connections;
mod events;
mod execute;
mod held;
mod history_service;
mod jobs;
mod local;
pub(crate) mod neural;
pub(crate) mod recorder;
mod service;
mod status;
mod tcp;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use threedgpt_proto::v1::account_server::AccountServer;
use threedgpt_proto::v1::generator_server::GeneratorServer;
use threedgpt_proto::v1::history_server::HistoryServer;
use threedgpt_proto::v1::models_server::ModelsServer;
use threedgpt_proto::v1::system_server::SystemServer;

use crate::history::key::KeySource;
use tokio::sync::Notify;

pub(crate) use jobs::JobQueue;
pub(crate) use service::Daemon;

/// How long an upload may go without a message before it is given up.
const UPLOAD_IDLE: Duration = Duration::from_secs(30);

/// Options of `3dgpt serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Log to the terminal instead of the log file (`daemon.log` in the runtime folder).
    #[arg(long)]
    foreground: bool,

    /// Stop after this many seconds without clients or jobs; 0 never stops.
    #[arg(long = "idle-timeout", value_name = "SECONDS", default_value_t = 600)]
    idle_timeout: u64,

    /// Jobs run at once (CPU); by default the number of cores. Jobs whose model runs on the GPU
    /// also run one at a time.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,

    /// Unload a learned model after this many seconds without a job using it (it holds its
    /// weights in memory, on the GPU too); 0 keeps loaded models until the daemon stops.
    #[arg(long = "model-idle", value_name = "SECONDS", default_value_t = 600)]
    model_idle: u64,

    /// Seconds between sync rounds with the account while signed in (a kept generation, a delete
    /// or a settings change starts one at once; failed rounds wait longer each time).
    #[arg(long = "sync-interval", value_name = "SECONDS", default_value_t = 60.0)]
    sync_interval: f64,

    /// Jobs that may wait in the queue before new ones are refused.
    #[arg(long = "max-queue", value_name = "N", default_value_t = 64)]
    max_queue: usize,

    /// Also listen on this loopback address (e.g. 127.0.0.1:50570; port 0 picks one), for clients
    /// that cannot use the socket. Requests need the token from `tcp-token` in the runtime folder.
    #[arg(long, value_name = "ADDR")]
    tcp: Option<std::net::SocketAddr>,

    /// Keep the history's encryption key in this file (created 0600) instead of the OS keychain.
    /// Only for machines without a usable keychain: anyone who can read the file can read the history.
    #[arg(long = "key-file", value_name = "PATH")]
    key_file: Option<std::path::PathBuf>,

    /// ONNX Runtime's library for neural models (libonnxruntime.so.1.31.1); by default
    /// ORT_DYLIB_PATH, else the one scripts/install_onnxruntime.sh put in the data folder.
    #[arg(long, value_name = "PATH")]
    onnxruntime: Option<std::path::PathBuf>,
}

/// Runs the daemon until it is stopped (Shutdown, SIGTERM, Ctrl-C or the idle timeout).
pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(address) = args.tcp
        && !address.ip().is_loopback()
    {
        bail!("--tcp {address} is not a loopback address; the daemon only listens on 127.0.0.1 or [::1]");
    }
    let runtime_dir = threedgpt_paths::runtime_dir();
    prepare_runtime_dir(&runtime_dir)?;
    init_logging(&runtime_dir, args.foreground)?;
    let lock_path = runtime_dir.join("daemon.lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("could not open the lock file {}", lock_path.display()))?;
    let socket_path = threedgpt_paths::socket_path(&runtime_dir);
    if lock.try_lock().is_err() {
        bail!(
            "another 3D GPT daemon is already running for this user (socket {}); stop it with `3dgpt daemon stop`",
            socket_path.display()
        );
    }
    // Holding the lock, any socket file left behind is stale: a crashed daemon's.
    if socket_path.exists() {
        fs::remove_file(&socket_path)
            .with_context(|| format!("could not remove the stale socket {}", socket_path.display()))?;
    }
    let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |cores| cores.get()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let data_dir = threedgpt_paths::data_dir();
    let keys = key_source(args.key_file.as_deref(), &data_dir);
    let account_keys = keys.as_ref().map(Arc::clone).map_err(ToString::to_string);
    let recorder = Arc::new(open_history(&data_dir, keys));
    // The account's secrets go where the history key is; without a keychain every account call
    // says why.
    let accounts = Arc::new(crate::account::Accounts::new(&data_dir, account_keys));
    let neural = Arc::new(neural::Neural::new(args.onnxruntime.as_deref(), &data_dir));
    let limits = Limits {
        workers,
        max_queue: args.max_queue,
        idle_timeout_s: args.idle_timeout,
        model_idle_s: args.model_idle,
        sync_interval: Duration::from_secs_f64(args.sync_interval.clamp(0.1, 86_400.0)),
    };
    let result = runtime.block_on(serve(&socket_path, limits, recorder, accounts, neural, &data_dir, args.tcp));
    let _ = fs::remove_file(&socket_path);
    drop(lock);
    result
}

/// The key file when the user chose one, else the OS keychain.
fn key_source(key_file: Option<&Path>, data_dir: &Path) -> Result<Arc<dyn KeySource>, crate::history::key::KeyError> {
    use crate::history::key::{KeyFile, Keychain};
    match key_file {
        Some(path) => Ok(Arc::new(KeyFile(path.to_path_buf()))),
        None => Keychain::install(data_dir).map(|keychain| Arc::new(keychain) as Arc<dyn KeySource>),
    }
}

/// Opens the encrypted history. Without a key the daemon still runs and generates; it says why
/// history is off instead of keeping anything in the clear.
fn open_history(
    data_dir: &Path,
    source: Result<Arc<dyn KeySource>, crate::history::key::KeyError>,
) -> recorder::Recorder {
    let opened = source
        .map_err(crate::history::StoreError::from)
        .and_then(|source| crate::history::HistoryStore::open(&data_dir.join("history"), source.as_ref()));
    match opened {
        Ok(store) => {
            let status = format!("kept in {}, key in the {}", store.folder().display(), store.key_description());
            tracing::info!(%status, "history");
            recorder::Recorder::new(Some(Arc::new(store)), status, data_dir)
        }
        Err(error) => {
            tracing::warn!(%error, "history is unavailable");
            recorder::Recorder::new(None, error.to_string(), data_dir)
        }
    }
}

/// How much work the daemon takes on, and when it stops by itself.
struct Limits {
    workers: usize,
    max_queue: usize,
    idle_timeout_s: u64,
    model_idle_s: u64,
    sync_interval: Duration,
}

async fn serve(
    socket_path: &Path,
    limits: Limits,
    recorder: Arc<recorder::Recorder>,
    accounts: Arc<crate::account::Accounts>,
    neural: Arc<neural::Neural>,
    data_dir: &Path,
    tcp: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    let Limits { workers, max_queue, idle_timeout_s, model_idle_s, sync_interval } = limits;
    let file_limit = connections::raise_file_limit();
    let (local_cap, tcp_cap) = connections::connection_caps(file_limit);
    tracing::info!(file_limit, local_cap, tcp_cap, "connection limits");
    #[cfg(unix)]
    let incoming = local::listen(socket_path, connections::Limiter::new("socket", local_cap, None))?;
    #[cfg(windows)]
    let incoming = local::listen(socket_path)?;
    let queue = JobQueue::new(workers, max_queue, recorder.clone()).with_journal(data_dir.join("detached-jobs.json"));
    let shutdown = Arc::new(Notify::new());
    // Held results (history off) whose time is up are dropped even when nobody asks for them, and
    // models no job has used for a while are unloaded.
    let (holder, models) = (recorder.clone(), neural.clone());
    tokio::spawn(async move {
        let period = Duration::from_secs(if model_idle_s == 0 { 30 } else { model_idle_s.clamp(1, 30) });
        loop {
            tokio::time::sleep(period).await;
            holder.held.prune();
            if model_idle_s > 0 {
                let models = models.clone();
                let _ =
                    tokio::task::spawn_blocking(move || models.unload_idle(Duration::from_secs(model_idle_s))).await;
            }
        }
    });
    let syncer = Arc::new(crate::sync::Syncer::new(accounts.clone(), recorder.clone(), data_dir, sync_interval));
    // A kept generation wakes sync; a finished job is a telemetry event (dropped when it is off).
    let listener = Arc::downgrade(&syncer);
    recorder.listen(move |notice| {
        let Some(syncer) = listener.upgrade() else { return };
        match notice {
            recorder::Notice::Kept => syncer.nudge(),
            recorder::Notice::Finished { duration_ms } => syncer.record_event(crate::sync::TelemetryEvent {
                event: "generation_finished",
                duration_ms: Some(duration_ms),
            }),
        }
    });
    syncer.start();
    let daemon = Daemon {
        queue: queue.clone(),
        budget: budget::ByteBudget::new(budget::IMAGE_BUDGET_BYTES),
        upload_idle: UPLOAD_IDLE,
        recorder,
        accounts,
        syncer,
        neural,
        shutdown: shutdown.clone(),
        socket_path: socket_path.to_path_buf(),
        store_path: data_dir.to_path_buf(),
    };
    tracing::info!(socket = %socket_path.display(), workers, max_queue, "daemon listening");
    let (stopped_sender, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_stop(&queue, &shutdown, idle_timeout_s).await;
        // Cancel the work first so every client's stream ends with its job's last event.
        queue.shut_down().await;
        tracing::info!("daemon stopped");
        let _ = stopped_sender.send(true);
    });
    let unix = tonic::transport::Server::builder()
        // Large HTTP/2 windows: artifacts of tens of MiB stream without flow-control stalls.
        .initial_stream_window_size(Some(8 << 20))
        .initial_connection_window_size(Some(16 << 20))
        .max_frame_size(Some(1 << 20))
        .add_service(GeneratorServer::new(daemon.clone()).max_decoding_message_size(8 << 20))
        .add_service(ModelsServer::new(daemon.clone()))
        .add_service(HistoryServer::new(daemon.clone()))
        .add_service(SystemServer::new(daemon.clone()))
        .add_service(AccountServer::new(daemon.clone()))
        .serve_with_incoming_shutdown(incoming, until_stopped(stopped.clone()));
    let Some(address) = tcp else {
        return unix.await.context("the gRPC server failed");
    };
    let runtime_dir = socket_path.parent().unwrap_or(Path::new("."));
    let limiter = connections::Limiter::new("loopback TCP", tcp_cap, Some(connections::HANDSHAKE_DEADLINE));
    let (connections, token) = tcp::listen(address, runtime_dir, limiter).await?;
    let tcp = tonic::transport::Server::builder()
        // Large HTTP/2 windows: artifacts of tens of MiB stream without flow-control stalls.
        .initial_stream_window_size(Some(8 << 20))
        .initial_connection_window_size(Some(16 << 20))
        .max_frame_size(Some(1 << 20))
        .layer(tonic::service::InterceptorLayer::new(tcp::TokenGuard::new(&token, runtime_dir)))
        .add_service(GeneratorServer::new(daemon.clone()).max_decoding_message_size(8 << 20))
        .add_service(ModelsServer::new(daemon.clone()))
        .add_service(HistoryServer::new(daemon.clone()))
        .add_service(SystemServer::new(daemon.clone()))
        .add_service(AccountServer::new(daemon))
        .serve_with_incoming_shutdown(connections, until_stopped(stopped));
    let (unix, tcp) = tokio::join!(unix, tcp);
    unix.context("the gRPC server failed")?;
    tcp.context("the loopback TCP server failed")
}

async fn until_stopped(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stopped| *stopped).await;
}

/// Resolves on Shutdown, SIGTERM, Ctrl-C, or after `idle_timeout_s` without clients or jobs.
async fn wait_for_stop(queue: &JobQueue, shutdown: &Notify, idle_timeout_s: u64) {
    let idle = async {
        if idle_timeout_s == 0 {
            return std::future::pending::<()>().await;
        }
        let limit = Duration::from_secs(idle_timeout_s);
        loop {
            tokio::time::sleep(Duration::from_secs(1).min(limit)).await;
            if queue.idle_for().is_some_and(|idle| idle >= limit) {
                tracing::info!(idle_timeout_s, "idle; stopping");
                return;
            }
        }
    };
    tokio::select! {
        () = shutdown.notified() => {}
        () = idle => {}
        () = terminated() => tracing::info!("terminated; stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; stopping"),
    }
}

/// SIGTERM on Unix; on Windows the console's close (the daemon started by hand in a console window).
async fn terminated() {
    #[cfg(unix)]
    let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    #[cfg(windows)]
    let signal = tokio::signal::windows::ctrl_close();
    match signal {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

fn prepare_runtime_dir(dir: &Path) -> anyhow::Result<()> {
    crate::private::create_dir_all(dir)
        .with_context(|| format!("could not create the runtime folder {}", dir.display()))?;
    #[cfg(unix)]
    check_runtime_dir_owner(dir)?;
    Ok(())
}

/// The runtime folder must be this user's and private: it holds the socket, the lock and the TCP
/// token. (On Windows it lies in the user's own profile.)
#[cfg(unix)]
fn check_runtime_dir_owner(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    let metadata = fs::metadata(dir).with_context(|| format!("could not read {}", dir.display()))?;
    let uid = rustix::process::getuid().as_raw();
    if metadata.uid() != uid {
        bail!(
            "the runtime folder {} belongs to another user (uid {}); remove it or set THREEDGPT_RUNTIME_DIR",
            dir.display(),
            metadata.uid()
        );
    }
    if metadata.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("could not make {} private", dir.display()))?;
    }
    Ok(())
}

fn init_logging(runtime_dir: &Path, foreground: bool) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if foreground {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    } else {
        let path = runtime_dir.join("daemon.log");
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("could not open the log file {}", path.display()))?;
        // From here on, whatever goes to standard error (a panic, the last error) goes to the log.
        // A client that started this daemon reads its standard error until then, to say why a
        // daemon that could not start did not.
        #[cfg(unix)]
        if let Err(error) = rustix::stdio::dup2_stderr(&file) {
            eprintln!("warning: could not send standard error to {}: {error}", path.display());
        }
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init();
    }
    Ok(())
}
