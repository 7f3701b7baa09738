//! Sessions: login with the auth key, a short-lived access token and a rotating refresh token,
//! refresh, logout, and the owner's list of sessions with revocation. Each session is one family
//! of refresh tokens: presenting a replaced one revokes the family (a stolen token was used), except
//! the one just replaced within a short grace period, so that a response lost on a dropped
//! connection does not log the device out.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use threedgpt_crypto::{Key, normalize_email, same_secret, server_hash};

use crate::clock::now;
use crate::encoding::{hex, unhex_key};
use crate::error::ApiError;
use crate::extract::{Body, Caller, Path, token_digest};
use crate::network::ClientAddress;
use crate::openapi::ErrorBody;
use crate::server::Service;

/// How long a replaced refresh token still works (once more) after it was replaced.
const REFRESH_GRACE_SECONDS: i64 = 60;
/// How long a refresh token lives unused; a device that comes back later signs in again.
const REFRESH_SECONDS: i64 = 90 * 24 * 3600;

/// A fresh bearer token (256 random bits, hex) and the digest the database keeps of it.
fn token() -> Result<(String, Vec<u8>), ApiError> {
    let text = hex(Key::random().map_err(ApiError::internal)?.as_bytes());
    let digest = token_digest(&text);
    Ok((text, digest))
}

/// What a client says about itself when it signs in, shown in the list of sessions.
#[derive(Deserialize, Default, utoipa::ToSchema)]
struct Device {
    #[serde(default)]
    device_name: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    client_version: Option<String>,
}

pub(crate) fn label(text: Option<String>) -> String {
    text.unwrap_or_default().trim().chars().filter(|c| !c.is_control()).take(100).collect()
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct LoginRequest {
    email: String,
    auth_key: String,
    #[serde(flatten)]
    device: Device,
}

/// The account an email and auth key belong to, or `None`. An unknown email costs the same hash
/// as a known one, and the comparison is constant-time, so neither time nor answer tells them apart.
pub(crate) async fn check_auth_key(service: &Service, email: &str, auth_key: Key) -> Result<Option<String>, ApiError> {
    let row: Option<(String, Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT id, auth_salt, auth_hash FROM accounts WHERE email = $1")
            .bind(email)
            .fetch_optional(&service.database)
            .await?;
    let (salt, stored) = match &row {
        Some((_, salt, hash)) => (salt.clone(), hash.clone()),
        None => (threedgpt_crypto::fake_salt(&service.secret, email).to_vec(), vec![0u8; 32]),
    };
    let salt: [u8; 16] = salt.try_into().map_err(|_| ApiError::internal("a stored salt is not 16 bytes"))?;
    let hashing = service.config.server_kdf;
    let computed = tokio::task::spawn_blocking(move || server_hash(&auth_key, &salt, hashing))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let matches = same_secret(computed.as_bytes(), &stored);
    Ok(row.filter(|_| matches).map(|(id, _, _)| id))
}

/// The account an email and auth key sign in to, within the rate limits of the client's address
/// and of the account: how a device and the web pages sign in alike.
pub(crate) async fn authenticate(
    service: &Service,
    address: std::net::IpAddr,
    email: &str,
    auth_key: &str,
) -> Result<String, ApiError> {
    service.limits.address(address)?;
    let email = normalize_email(email).map_err(|error| ApiError::invalid(error.to_string()))?;
    let auth_key = unhex_key(auth_key, "auth_key")?;
    service.limits.account(&email)?;
    check_auth_key(service, &email, auth_key).await?.ok_or_else(invalid_credentials)
}

/// The answer to a wrong email or auth key, the same for both.
pub(crate) fn invalid_credentials() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "the email or the password is not right")
}

/// Which refresh token a new pair replaces.
#[derive(Clone, Copy)]
enum Replacing<'a> {
    /// None: the session's first pair.
    Nothing,
    /// The session's live refresh token (a normal refresh).
    Live(&'a [u8]),
    /// A token replaced moments ago whose answer was lost (a retry within the grace period).
    Retry(&'a [u8]),
}

/// A new access token for `session` (replacing its last one) and a new refresh token in its
/// family, or `None` when the live token was rotated by a concurrent request in the meantime.
async fn issue(service: &Service, session: &str, replacing: Replacing<'_>) -> Result<Option<Value>, ApiError> {
    let (access, access_hash) = token()?;
    let (refresh, refresh_hash) = token()?;
    let at = now();
    let access_seconds = service.config.access_token_seconds;
    let mut transaction = service.database.begin().await?;
    match replacing {
        Replacing::Nothing => {}
        Replacing::Live(old) => {
            let replaced = sqlx::query(
                "UPDATE refresh_tokens SET replaced_at = $1, replaced_by = $2 WHERE hash = $3 AND replaced_at IS NULL",
            )
            .bind(at)
            .bind(&refresh_hash)
            .bind(old)
            .execute(&mut *transaction)
            .await?;
            if replaced.rows_affected() != 1 {
                return Ok(None);
            }
        }
        Replacing::Retry(old) => {
            // The replacement that never arrived goes; the retried token keeps its first
            // replacement time, so the grace period does not stretch with retries.
            sqlx::query("DELETE FROM refresh_tokens WHERE session_id = $1 AND replaced_at IS NULL")
                .bind(session)
                .execute(&mut *transaction)
                .await?;
            sqlx::query("UPDATE refresh_tokens SET replaced_by = $1 WHERE hash = $2")
                .bind(&refresh_hash)
                .bind(old)
                .execute(&mut *transaction)
                .await?;
        }
    }
    sqlx::query("UPDATE sessions SET access_hash = $1, access_expires_at = $2, last_seen_at = $3 WHERE id = $4")
        .bind(&access_hash)
        .bind(at + access_seconds)
        .bind(at)
        .bind(session)
        .execute(&mut *transaction)
        .await?;
    sqlx::query("INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES ($1, $2, $3)")
        .bind(&refresh_hash)
        .bind(session)
        .bind(at)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(Some(json!({
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": access_seconds,
        "session_id": session,
    })))
}

/// `POST /v1/sessions`: a session for the right auth key.
#[utoipa::path(
    post,
    path = "/v1/sessions",
    tag = "sessions",
    request_body = LoginRequest,
    responses((status = 200, description = "An access token and a refresh token", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
)]
pub(crate) async fn login(
    State(service): State<Service>,
    ClientAddress(address): ClientAddress,
    Body(request): Body<LoginRequest>,
) -> Result<Json<Value>, ApiError> {
    let account = authenticate(&service, address, &request.email, &request.auth_key).await?;
    let device = request.device;
    let labels = SessionLabels {
        device_name: label(device.device_name),
        os: label(device.os),
        client_version: label(device.client_version),
    };
    // A placeholder token until `issue` gives the session its first access token.
    let session = open_session(&service, &account, &labels, None).await?;
    let pair = issue(&service, &session, Replacing::Nothing).await?;
    Ok(Json(pair.ok_or_else(|| ApiError::internal("a new session had a refresh token already"))?))
}

/// What the list of sessions shows of one.
pub(crate) struct SessionLabels {
    pub(crate) device_name: String,
    pub(crate) os: String,
    pub(crate) client_version: String,
}

/// A web session's access: the digest of its cookie's token and when it lapses.
pub(crate) struct WebAccess {
    pub(crate) token_digest: Vec<u8>,
    pub(crate) expires_at: i64,
}

/// Starts a session of `account` and returns its id: a device's (its tokens issued next), or a web
/// page's with its cookie's token.
pub(crate) async fn open_session(
    service: &Service,
    account: &str,
    labels: &SessionLabels,
    web: Option<WebAccess>,
) -> Result<String, ApiError> {
    let session = format!("sess_{}", hex(&threedgpt_crypto::random_salt().map_err(ApiError::internal)?));
    let at = now();
    let (access_hash, expires_at) = match &web {
        Some(access) => (access.token_digest.clone(), access.expires_at),
        None => (token_digest(&session), 0),
    };
    sqlx::query(
        "INSERT INTO sessions (id, account_id, access_hash, access_expires_at, device_name, os, client_version, \
         created_at, last_seen_at, web) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
    )
    .bind(&session)
    .bind(account)
    .bind(&access_hash)
    .bind(expires_at)
    .bind(&labels.device_name)
    .bind(&labels.os)
    .bind(&labels.client_version)
    .bind(at)
    .bind(i64::from(web.is_some()))
    .execute(&service.database)
    .await?;
    tracing::info!(%account, %session, web = web.is_some(), "signed in");
    Ok(session)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RefreshRequest {
    refresh_token: String,
}

/// A refresh token's session, when it was made and replaced, by what, and whether the session
/// was revoked.
type RefreshRow = (String, i64, Option<i64>, Option<Vec<u8>>, i64);

/// `POST /v1/sessions/refresh`: a new access token and refresh token for a live refresh token.
#[utoipa::path(
    post,
    path = "/v1/sessions/refresh",
    tag = "sessions",
    request_body = RefreshRequest,
    responses((status = 200, description = "A new access token and refresh token", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
)]
pub(crate) async fn refresh(
    State(service): State<Service>,
    Body(request): Body<RefreshRequest>,
) -> Result<Json<Value>, ApiError> {
    let refused = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_refresh_token",
            "this refresh token is not valid (it expired, was revoked or was replaced): sign in again",
        )
    };
    let digest = token_digest(request.refresh_token.trim());
    let row: Option<RefreshRow> = sqlx::query_as(
        "SELECT t.session_id, t.created_at, t.replaced_at, t.replaced_by, s.revoked FROM refresh_tokens t \
         JOIN sessions s ON s.id = t.session_id WHERE t.hash = $1",
    )
    .bind(&digest)
    .fetch_optional(&service.database)
    .await?;
    let (session, created_at, replaced_at, replaced_by, revoked) = row.ok_or_else(refused)?;
    let at = now();
    if revoked != 0 || at - created_at > REFRESH_SECONDS {
        return Err(refused());
    }
    let replacing = match replaced_at {
        None => Replacing::Live(&digest),
        Some(replaced_at) => {
            let live: Option<(Vec<u8>,)> =
                sqlx::query_as("SELECT hash FROM refresh_tokens WHERE session_id = $1 AND replaced_at IS NULL")
                    .bind(&session)
                    .fetch_optional(&service.database)
                    .await?;
            let just_replaced = live.is_some_and(|(live,)| Some(live) == replaced_by);
            if !just_replaced || at - replaced_at > REFRESH_GRACE_SECONDS {
                // An old token came back: someone besides the device holds the family's tokens.
                revoke(&service, &session).await?;
                tracing::warn!(%session, "a replaced refresh token was used again: the session is revoked");
                return Err(refused());
            }
            Replacing::Retry(&digest)
        }
    };
    // `None`: a concurrent request rotated the same token first; that one has the answer.
    Ok(Json(issue(&service, &session, replacing).await?.ok_or_else(refused)?))
}

/// Ends a session: its access token stops at once and its refresh tokens with it.
pub(crate) async fn revoke(service: &Service, session: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET revoked = 1 WHERE id = $1").bind(session).execute(&service.database).await?;
    sqlx::query("DELETE FROM refresh_tokens WHERE session_id = $1").bind(session).execute(&service.database).await?;
    Ok(())
}

/// `DELETE /v1/sessions/current`: log out.
#[utoipa::path(
    delete,
    path = "/v1/sessions/current",
    tag = "sessions",
    responses((status = 204, description = "Signed out"), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn logout(State(service): State<Service>, caller: Caller) -> Result<StatusCode, ApiError> {
    revoke(&service, &caller.session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/sessions`: the account's live sessions.
#[utoipa::path(
    get,
    path = "/v1/sessions",
    tag = "sessions",
    responses((status = 200, description = "The live sessions", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn list(State(service): State<Service>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, device_name, os, client_version, created_at, last_seen_at FROM sessions \
         WHERE account_id = $1 AND revoked = 0 ORDER BY created_at, id",
    )
    .bind(&caller.account)
    .fetch_all(&service.database)
    .await?;
    let sessions: Vec<Value> = rows
        .into_iter()
        .map(|(id, device_name, os, client_version, created_at, last_seen_at)| {
            json!({
                "id": id, "device_name": device_name, "os": os, "client_version": client_version,
                "created_at": created_at, "last_seen_at": last_seen_at, "current": id == caller.session,
            })
        })
        .collect();
    Ok(Json(json!({"sessions": sessions})))
}

/// `DELETE /v1/sessions/{id}`: revoke one of the account's sessions (another account's is not found).
#[utoipa::path(
    delete,
    path = "/v1/sessions/{id}",
    tag = "sessions",
    params(("id" = String, Path, description = "The session")),
    responses((status = 204, description = "Revoked"), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn revoke_one(
    State(service): State<Service>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let owned: Option<(String,)> =
        sqlx::query_as("SELECT id FROM sessions WHERE id = $1 AND account_id = $2 AND revoked = 0")
            .bind(&id)
            .bind(&caller.account)
            .fetch_optional(&service.database)
            .await?;
    if owned.is_none() {
        return Err(ApiError::not_found("session"));
    }
    revoke(&service, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every session of `account` but `keep` (after a password change).
pub(crate) async fn revoke_others(service: &Service, account: &str, keep: &str) -> Result<(), sqlx::Error> {
    let others: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM sessions WHERE account_id = $1 AND id <> $2 AND revoked = 0")
            .bind(account)
            .bind(keep)
            .fetch_all(&service.database)
            .await?;
    for (session,) in others {
        revoke(service, &session).await?;
    }
    Ok(())
}
