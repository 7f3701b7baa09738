//! `3dgpt-cloud serve`: the configuration, the database (SQLite in the data folder by default,
//! migrated at start), the server's secret, and the routes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use threedgpt_crypto::KdfParams;

use crate::accounts;
use crate::age::MINIMUM_AGE;
use crate::error::ApiError;

/// The API version `/v1/version` reports.
pub(crate) const API_VERSION: &str = "v1";
/// The largest request body accepted (a generation's blobs come in chunks of their own, later).
const MAX_BODY: usize = 1 << 20;

/// Options of `serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: String,
    /// Folder for the database, the blobs and the server's secret.
    #[arg(long, value_name = "DIR", default_value = "3dgpt-cloud-data")]
    data: PathBuf,
    /// argon2id memory (KiB) the server hashes auth keys with; tests lower it.
    #[arg(long, value_name = "KIB", default_value_t = KdfParams::DEFAULT.memory_kib, hide = true)]
    hash_memory_kib: u32,
    /// The least argon2id memory (KiB) a client may derive keys with; tests lower it.
    #[arg(long, value_name = "KIB", default_value_t = KdfParams::MINIMUM.memory_kib, hide = true)]
    minimum_kdf_memory_kib: u32,
}

/// What the service is configured with.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// What new accounts derive their keys with (what pre-login tells unknown emails).
    pub(crate) account_kdf: KdfParams,
    /// The least a sign-up may use.
    pub(crate) minimum_kdf: KdfParams,
    /// What the server hashes auth keys with.
    pub(crate) server_kdf: KdfParams,
    /// Whether mail can be sent (verification links); without it accounts are verified at once.
    pub(crate) smtp_configured: bool,
}

impl Config {
    /// The youngest age allowed to sign up in `country` (never below 13).
    pub(crate) fn minimum_age(&self, _country: Option<&str>) -> u32 {
        MINIMUM_AGE
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub(crate) struct Service {
    pub(crate) database: sqlx::SqlitePool,
    pub(crate) secret: Arc<Vec<u8>>,
    pub(crate) config: Arc<Config>,
}

/// The server's secret for fake salts: made once, kept in the data folder (0600).
fn load_secret(data: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data.join("server-secret");
    if let Ok(secret) = std::fs::read(&path)
        && secret.len() == 32
    {
        return Ok(secret);
    }
    let secret = threedgpt_crypto::Key::random()?.as_bytes().to_vec();
    let temporary = data.join(".server-secret.new");
    std::fs::write(&temporary, &secret).with_context(|| format!("could not write {}", temporary.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&temporary, &path)?;
    Ok(secret)
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data).with_context(|| format!("could not create {}", args.data.display()))?;
    let secret = load_secret(&args.data)?;
    let database_path = args.data.join("cloud.db");
    let options = SqliteConnectOptions::new()
        .filename(&database_path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        // Deleted rows are overwritten, so nothing of a deleted account stays in the file.
        .pragma("secure_delete", "ON");
    let database = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .with_context(|| format!("could not open the database {}", database_path.display()))?;
    sqlx::migrate!("./migrations").run(&database).await.context("could not migrate the database")?;
    let server_kdf = KdfParams { memory_kib: args.hash_memory_kib, ..KdfParams::DEFAULT };
    let minimum_kdf = KdfParams { memory_kib: args.minimum_kdf_memory_kib, iterations: 1, parallelism: 1 }
        .at_least(KdfParams { memory_kib: 8, iterations: 1, parallelism: 1 })?;
    let config = Config { account_kdf: KdfParams::DEFAULT, minimum_kdf, server_kdf, smtp_configured: false };
    tracing::warn!("no SMTP server is configured: new accounts are not asked to verify their email");
    let service = Service { database, secret: Arc::new(secret), config: Arc::new(config) };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("could not listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    // Scripts and tests read the address (the port when 0 was asked for) from this line.
    println!("3dgpt-cloud listening on http://{address}");
    tracing::info!(%address, data = %args.data.display(), "serving");
    axum::serve(listener, router(service)).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

fn router(service: Service) -> Router {
    Router::new()
        .route("/v1/version", get(version))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(ready))
        .route("/v1/accounts/prelogin", post(accounts::prelogin))
        .route("/v1/accounts", post(accounts::signup))
        .route("/v1/sessions", post(accounts::login))
        .route("/v1/account", get(accounts::account))
        .fallback(|| async {
            ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "there is nothing at this address")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(service)
}

/// `/v1/version`: the API version and the least key-derivation parameters clients must use.
async fn version(State(service): State<Service>) -> Json<Value> {
    let minimum = service.config.minimum_kdf;
    Json(json!({
        "api_version": API_VERSION,
        "server_version": env!("CARGO_PKG_VERSION"),
        "kdf_minimum": {"algorithm": "argon2id", "memory_kib": minimum.memory_kib, "iterations": minimum.iterations, "parallelism": minimum.parallelism},
    }))
}

/// `/readyz`: the database answers.
async fn ready(State(service): State<Service>) -> Result<Json<Value>, ApiError> {
    sqlx::query("SELECT 1").execute(&service.database).await?;
    Ok(Json(json!({"status": "ready"})))
}
