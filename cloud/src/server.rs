//! `3dgpt-cloud serve`: the configuration, the database (SQLite in the data folder by default,
//! PostgreSQL when given; migrated at start), the server's secret, and the routes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::get;
use serde_json::{Value, json};
use threedgpt_crypto::KdfParams;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::blobs::BlobStore;
use crate::config::Settings;
use crate::database::{self, Engine};
use crate::error::ApiError;
use crate::limits::Limits;
use crate::mail::{self, Mailer};
use crate::network::Network;
use crate::openapi::ApiDoc;
use crate::tls::{self, Peer, TlsListener};
use crate::{accounts, export, payments, sessions, settings, sync, telemetry, web};

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
    /// The database: sqlite://FILE or postgres://USER@HOST/NAME [default: cloud.db in --data].
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Where blobs go: s3://BUCKET/PREFIX (AWS_* variables; AWS_ENDPOINT for another S3 store)
    /// [default: the blobs folder in --data].
    #[arg(long, value_name = "URL")]
    blobs: Option<String>,
    /// A TOML file of tiers' quotas, how long deletions are kept and ages per country.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A reverse proxy (ADDRESS or ADDRESS/PREFIX) whose X-Forwarded-For names the client;
    /// repeat for more than one.
    #[arg(long, value_name = "CIDR")]
    trusted_proxy: Vec<Network>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// How long an access token lives, in seconds; tests shorten it.
    #[arg(long, value_name = "SECONDS", default_value_t = 15 * 60, hide = true)]
    access_token_seconds: i64,
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
    /// How long an access token lives.
    pub(crate) access_token_seconds: i64,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub(crate) trusted_proxies: Vec<Network>,
    /// Whether this process serves TLS itself (the web session's cookie is then `Secure`).
    pub(crate) tls: bool,
}

/// Shared state of the handlers.
#[derive(Clone)]
pub(crate) struct Service {
    pub(crate) database: sqlx::AnyPool,
    pub(crate) engine: Engine,
    pub(crate) blobs: BlobStore,
    pub(crate) settings: Arc<Settings>,
    pub(crate) secret: Arc<Vec<u8>>,
    pub(crate) config: Arc<Config>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) mailer: Option<Arc<Mailer>>,
}

/// The server's secret for fake salts: made by the first replica to start, kept in the database.
async fn load_secret(database: &sqlx::AnyPool) -> anyhow::Result<Vec<u8>> {
    let candidate = threedgpt_crypto::Key::random()?.as_bytes().to_vec();
    sqlx::query("INSERT INTO server_secret (id, secret) VALUES (1, $1) ON CONFLICT DO NOTHING")
        .bind(&candidate)
        .execute(database)
        .await
        .context("could not store the server's secret")?;
    let (secret,): (Vec<u8>,) = sqlx::query_as("SELECT secret FROM server_secret WHERE id = 1")
        .fetch_one(database)
        .await
        .context("could not read the server's secret")?;
    anyhow::ensure!(secret.len() == 32, "the server's secret in the database is not 32 bytes");
    Ok(secret)
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data).with_context(|| format!("could not create {}", args.data.display()))?;
    let url = args.database.clone().unwrap_or_else(|| database::default_url(&args.data));
    let (database, engine) = database::open(&url).await?;
    let secret = load_secret(&database).await?;
    let blobs = BlobStore::open(args.blobs.as_deref(), &args.data)?;
    let settings = match &args.config {
        Some(path) => Settings::load(path)?,
        None => Settings::default(),
    };
    let server_kdf = KdfParams { memory_kib: args.hash_memory_kib, ..KdfParams::DEFAULT };
    // The real minimum unless a test lowered the memory, and with it the passes.
    let minimum_kdf =
        if args.minimum_kdf_memory_kib >= KdfParams::MINIMUM.memory_kib {
            KdfParams { memory_kib: args.minimum_kdf_memory_kib, ..KdfParams::MINIMUM }
        } else {
            KdfParams { memory_kib: args.minimum_kdf_memory_kib, iterations: 1, parallelism: 1 }
                .at_least(KdfParams { memory_kib: 8, iterations: 1, parallelism: 1 })?
        };
    if args.access_token_seconds < 1 {
        anyhow::bail!("--access-token-seconds must be at least 1");
    }
    let config = Config {
        account_kdf: KdfParams::DEFAULT,
        minimum_kdf,
        server_kdf,
        smtp_configured: settings.smtp.is_some(),
        access_token_seconds: args.access_token_seconds,
        trusted_proxies: args.trusted_proxy.clone(),
        tls: args.tls_cert.is_some(),
    };
    let mailer = match &settings.smtp {
        Some(smtp) => {
            tracing::info!(host = %smtp.host, "new accounts verify their email by a mailed link");
            Some(Arc::new(Mailer::new(smtp)?))
        }
        None => {
            tracing::warn!("no SMTP server is configured: new accounts are not asked to verify their email");
            None
        }
    };
    let service = Service {
        database,
        engine,
        blobs,
        settings: Arc::new(settings),
        secret: Arc::new(secret),
        config: Arc::new(config),
        limits: Arc::new(Limits::new()),
        mailer,
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("could not listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let acceptor = match (&args.tls_cert, &args.tls_key) {
        (Some(certificate), Some(key)) => Some(tls::acceptor(certificate, key)?),
        _ => None,
    };
    tokio::spawn(purge_old(service.clone()));
    tracing::info!(blobs = ?service.blobs, database = ?engine, "storage ready");
    let app = router(service).into_make_service_with_connect_info::<Peer>();
    // Scripts and tests read the address (the port when 0 was asked for) from this line.
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    println!("3dgpt-cloud listening on {scheme}://{address}");
    tracing::info!(%address, data = %args.data.display(), "serving");
    match acceptor {
        Some(acceptor) => {
            axum::serve(TlsListener::new(listener, acceptor)?, app).with_graceful_shutdown(shutdown()).await?;
        }
        None => axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?,
    }
    Ok(())
}

/// Forgets old tombstones and telemetry now and then (every hour, or sooner when either is kept
/// less long).
async fn purge_old(service: Service) {
    let shortest = service.settings.sync.tombstone_seconds.min(service.settings.telemetry.retention_seconds);
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(shortest.clamp(1, 3600) as u64));
    loop {
        interval.tick().await;
        match sync::purge_tombstones(&service).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "forgot old deletions"),
            Err(error) => tracing::error!(%error, "could not forget old deletions"),
        }
        match telemetry::purge(&service).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "forgot old telemetry"),
            Err(error) => tracing::error!(%error, "could not forget old telemetry"),
        }
    }
}

/// Waits for Ctrl-C or, on Unix, SIGTERM (what service managers send), to finish the requests in
/// flight and stop.
async fn shutdown() {
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(terminate) => terminate,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Each request in a span of its own, logged with its route's pattern (never the ids or names in
/// the path), its status and how long it took; a handler that panics answers a JSON 500 rather
/// than dropping the connection.
async fn trace(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use futures_util::FutureExt;
    use tracing::Instrument;

    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "(no route)".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().clone();
    let span = tracing::info_span!("request", %method, %route);
    let started = std::time::Instant::now();
    let answered = std::panic::AssertUnwindSafe(next.run(request)).catch_unwind().instrument(span.clone()).await;
    let _entered = span.enter();
    let response = answered.unwrap_or_else(|_| {
        tracing::error!("the handler panicked");
        axum::response::IntoResponse::into_response(ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to do this; try again later",
        ))
    });
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(status, elapsed_ms, "answered");
    } else {
        tracing::debug!(status, elapsed_ms, "answered");
    }
    response
}

/// How long a request may take, its body's upload included, before it is answered with an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

async fn time_limit(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => axum::response::IntoResponse::into_response(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the server took too long to answer this request; try again",
        )),
    }
}

fn router(service: Service) -> Router {
    let (api, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(version))
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(accounts::prelogin))
        .routes(routes!(accounts::signup))
        .routes(routes!(mail::verify_posted, mail::verify_link))
        .routes(routes!(mail::resend))
        .routes(routes!(accounts::recovery_start))
        .routes(routes!(accounts::recovery_finish))
        .routes(routes!(accounts::account, accounts::change, accounts::delete))
        .routes(routes!(accounts::change_password))
        .routes(routes!(accounts::change_email))
        .routes(routes!(sessions::login, sessions::list))
        .routes(routes!(sessions::refresh))
        .routes(routes!(sessions::logout))
        .routes(routes!(sessions::revoke_one))
        .routes(routes!(sync::account_usage))
        .routes(routes!(settings::get, settings::put))
        .routes(routes!(settings::consent))
        .routes(routes!(export::export))
        .routes(routes!(sync::put_blob, sync::get_blob))
        .routes(routes!(sync::list_parts))
        .routes(routes!(sync::put_part))
        .routes(routes!(sync::complete))
        .routes(routes!(sync::delete_all_records))
        .routes(routes!(sync::put_record, sync::get_record, sync::delete_record))
        .routes(routes!(sync::changes))
        .routes(routes!(payments::webhook))
        .routes(routes!(telemetry::record))
        .routes(routes!(web::session::sign_in, web::session::current, web::session::sign_out))
        .split_for_parts();
    let document = Arc::new(document);
    api.route("/openapi.json", get(move || async move { Json(document.as_ref().clone()) }))
        .merge(web::routes())
        .fallback(|| async {
            ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "there is nothing at this address")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this address does not take that method (see /openapi.json)",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(time_limit))
        .route_layer(axum::middleware::from_fn(trace))
        .layer(axum::middleware::from_fn_with_state(service.clone(), web::security_headers))
        .with_state(service)
}

/// `/healthz`: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "Alive", body = Object)))]
async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `/v1/version`: the API version and the least key-derivation parameters clients must use.
#[utoipa::path(get, path = "/v1/version", tag = "service", responses((status = 200, description = "Versions", body = Object)))]
async fn version(State(service): State<Service>) -> Json<Value> {
    let minimum = service.config.minimum_kdf;
    Json(json!({
        "api_version": API_VERSION,
        "server_version": env!("CARGO_PKG_VERSION"),
        "kdf_minimum": {"algorithm": "argon2id", "memory_kib": minimum.memory_kib, "iterations": minimum.iterations, "parallelism": minimum.parallelism},
    }))
}

/// `/readyz`: the database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    responses((status = 200, description = "Ready", body = Object), (status = "default", description = "Not ready", body = crate::openapi::ErrorBody))
)]
async fn ready(State(service): State<Service>) -> Result<Json<Value>, ApiError> {
    sqlx::query("SELECT 1").execute(&service.database).await?;
    Ok(Json(json!({"status": "ready"})))
}
