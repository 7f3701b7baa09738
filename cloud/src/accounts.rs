//! Accounts: the pre-login call, sign-up behind the age gate, login into a session, and the
//! account as its owner sees it. The password never reaches the server: clients send the auth key
//! `docs/crypto.md` derives, and the server keeps argon2id of it.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use threedgpt_crypto::{KdfParams, Key, normalize_email, same_secret, server_hash};

use crate::age::Date;
use crate::error::ApiError;
use crate::server::Service;

/// How long an access token lives.
const ACCESS_SECONDS: i64 = 15 * 60;

pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs() as i64)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str, what: &str, length: usize) -> Result<Vec<u8>, ApiError> {
    let bytes: Option<Vec<u8>> = (text.len() == length * 2)
        .then(|| (0..length).map(|index| u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).ok()).collect())
        .flatten();
    bytes.ok_or_else(|| {
        ApiError::invalid(format!("{what} must be {length} bytes in hexadecimal ({} digits)", length * 2))
    })
}

fn kdf_json(params: KdfParams) -> Value {
    json!({"algorithm": "argon2id", "memory_kib": params.memory_kib, "iterations": params.iterations, "parallelism": params.parallelism})
}

#[derive(Deserialize)]
pub(crate) struct PreloginRequest {
    email: String,
}

/// `POST /v1/accounts/prelogin`: the salt and argon2id parameters to derive keys with. An email
/// with no account gets a fake salt of the same shape (stable per email), so the answer tells
/// nothing about who has an account.
pub(crate) async fn prelogin(
    State(service): State<Service>,
    Json(request): Json<PreloginRequest>,
) -> Result<Json<Value>, ApiError> {
    let email = normalize_email(&request.email).map_err(|error| ApiError::invalid(error.to_string()))?;
    let row: Option<(Vec<u8>, i64, i64, i64)> = sqlx::query_as(
        "SELECT kdf_salt, kdf_memory_kib, kdf_iterations, kdf_parallelism FROM accounts WHERE email = ?",
    )
    .bind(&email)
    .fetch_optional(&service.database)
    .await?;
    let (salt, params) = match row {
        Some((salt, memory_kib, iterations, parallelism)) => (
            salt,
            KdfParams { memory_kib: memory_kib as u32, iterations: iterations as u32, parallelism: parallelism as u32 },
        ),
        None => (threedgpt_crypto::fake_salt(&service.secret, &email).to_vec(), service.config.account_kdf),
    };
    Ok(Json(json!({"salt": hex(&salt), "kdf": kdf_json(params)})))
}

#[derive(Deserialize)]
pub(crate) struct SignupRequest {
    name: String,
    email: String,
    date_of_birth: String,
    #[serde(default)]
    country: Option<String>,
    /// The salt the client derived its keys with (from its own pre-login call).
    salt: String,
    kdf: KdfJson,
    auth_key: String,
    wrapped_data_key: String,
    recovery_wrapped_data_key: String,
    recovery_verifier_digest: String,
}

#[derive(Deserialize)]
struct KdfJson {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

/// What sign-up answers, for a new email and a taken one alike.
fn signup_answer() -> (StatusCode, Json<Value>) {
    (
        StatusCode::ACCEPTED,
        Json(
            json!({"status": "check_your_inbox", "message": "if this email can be used, the account is ready; check your inbox"}),
        ),
    )
}

/// `POST /v1/accounts`: a new account. Under the minimum age it is refused and nothing about the
/// attempt is kept (no row, no log line with the email). A taken email gets the same answer as a
/// new one, and nothing changes.
pub(crate) async fn signup(
    State(service): State<Service>,
    Json(request): Json<SignupRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let birth = Date::parse(&request.date_of_birth)
        .ok_or_else(|| ApiError::invalid("date_of_birth must be a date written YYYY-MM-DD"))?;
    let minimum = service.config.minimum_age(request.country.as_deref());
    if birth.age_on(Date::today()) < i64::from(minimum) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "too_young",
            format!("3D GPT accounts are for people aged {minimum} or older here"),
        ));
    }
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid("name must be 1 to 200 characters"));
    }
    let email = normalize_email(&request.email).map_err(|error| ApiError::invalid(error.to_string()))?;
    let params = KdfParams {
        memory_kib: request.kdf.memory_kib,
        iterations: request.kdf.iterations,
        parallelism: request.kdf.parallelism,
    }
    .at_least(service.config.minimum_kdf)
    .map_err(|error| ApiError::invalid(error.to_string()))?;
    let kdf_salt = unhex(&request.salt, "salt", 16)?;
    let auth_key = Key(unhex(&request.auth_key, "auth_key", 32)?.try_into().expect("32 bytes"));
    let wrapped = unhex(&request.wrapped_data_key, "wrapped_data_key", threedgpt_crypto::WRAPPED_LEN)?;
    let recovery_wrapped =
        unhex(&request.recovery_wrapped_data_key, "recovery_wrapped_data_key", threedgpt_crypto::WRAPPED_LEN)?;
    let verifier_digest = unhex(&request.recovery_verifier_digest, "recovery_verifier_digest", 32)?;
    let auth_salt = threedgpt_crypto::random_salt().map_err(ApiError::internal)?;
    let hashing = service.config.server_kdf;
    let auth_hash = tokio::task::spawn_blocking(move || server_hash(&auth_key, &auth_salt, hashing))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let id = format!("acct_{}", hex(&threedgpt_crypto::random_salt().map_err(ApiError::internal)?));
    let inserted = sqlx::query(
        "INSERT INTO accounts (id, email, name, birth_date, country, kdf_salt, kdf_memory_kib, kdf_iterations, \
         kdf_parallelism, auth_salt, auth_hash, wrapped_data_key, recovery_wrapped_data_key, recovery_verifier_digest, \
         email_verified, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(email) DO NOTHING",
    )
    .bind(&id)
    .bind(&email)
    .bind(name)
    .bind(&request.date_of_birth)
    .bind(request.country.as_deref())
    .bind(&kdf_salt)
    .bind(i64::from(params.memory_kib))
    .bind(i64::from(params.iterations))
    .bind(i64::from(params.parallelism))
    .bind(auth_salt.as_slice())
    .bind(auth_hash.as_bytes().as_slice())
    .bind(&wrapped)
    .bind(&recovery_wrapped)
    .bind(&verifier_digest)
    // Without SMTP there is nobody to mail a link to: the server said so when it started.
    .bind(i64::from(!service.config.smtp_configured))
    .bind(now())
    .execute(&service.database)
    .await?;
    if inserted.rows_affected() == 1 {
        tracing::info!(account = %id, "account created");
    }
    Ok(signup_answer())
}

#[derive(Deserialize)]
pub(crate) struct LoginRequest {
    email: String,
    auth_key: String,
    #[serde(default)]
    device_name: Option<String>,
}

/// A fresh bearer token (256 random bits, hex) and the SHA-256 the database keeps of it.
fn token() -> Result<(String, Vec<u8>), ApiError> {
    let text = hex(Key::random().map_err(ApiError::internal)?.as_bytes());
    let digest = Sha256::digest(text.as_bytes()).to_vec();
    Ok((text, digest))
}

/// `POST /v1/sessions`: a session for the right auth key. A wrong key and an unknown email get
/// the same answer after the same work (a hash is computed either way).
pub(crate) async fn login(
    State(service): State<Service>,
    Json(request): Json<LoginRequest>,
) -> Result<Json<Value>, ApiError> {
    let refused =
        || ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "the email or the password is not right");
    let email = normalize_email(&request.email).map_err(|error| ApiError::invalid(error.to_string()))?;
    let auth_key = Key(unhex(&request.auth_key, "auth_key", 32)?.try_into().expect("32 bytes"));
    let row: Option<(String, Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT id, auth_salt, auth_hash FROM accounts WHERE email = ?")
            .bind(&email)
            .fetch_optional(&service.database)
            .await?;
    let (salt, stored) = match &row {
        Some((_, salt, hash)) => (salt.clone(), hash.clone()),
        None => (threedgpt_crypto::fake_salt(&service.secret, &email).to_vec(), vec![0u8; 32]),
    };
    let salt: [u8; 16] = salt.try_into().map_err(|_| ApiError::internal("a stored salt is not 16 bytes"))?;
    let hashing = service.config.server_kdf;
    let computed = tokio::task::spawn_blocking(move || server_hash(&auth_key, &salt, hashing))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let Some((account_id, _, _)) = row.filter(|_| same_secret(computed.as_bytes(), &stored)) else {
        return Err(refused());
    };
    let (access, access_hash) = token()?;
    let (refresh, refresh_hash) = token()?;
    let device = request.device_name.unwrap_or_default().chars().take(100).collect::<String>();
    let session_id = format!("sess_{}", &hex(&access_hash)[..16]);
    let at = now();
    sqlx::query(
        "INSERT INTO sessions (id, account_id, access_hash, access_expires_at, refresh_hash, device_name, created_at, \
         last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&session_id)
    .bind(&account_id)
    .bind(&access_hash)
    .bind(at + ACCESS_SECONDS)
    .bind(&refresh_hash)
    .bind(&device)
    .bind(at)
    .bind(at)
    .execute(&service.database)
    .await?;
    Ok(Json(json!({
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": ACCESS_SECONDS,
        "session_id": session_id,
    })))
}

/// The account a request's access token belongs to, checked against a live session on every
/// request (a revoked session stops at once).
pub(crate) async fn authenticated(service: &Service, headers: &HeaderMap) -> Result<String, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthenticated)?;
    let digest = Sha256::digest(token.trim().as_bytes()).to_vec();
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT id, account_id FROM sessions WHERE access_hash = ? AND revoked = 0 AND access_expires_at > ?",
    )
    .bind(&digest)
    .bind(now())
    .fetch_optional(&service.database)
    .await?;
    let (session, account) = row.ok_or_else(ApiError::unauthenticated)?;
    sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id = ?")
        .bind(now())
        .bind(&session)
        .execute(&service.database)
        .await?;
    Ok(account)
}

/// `GET /v1/account`: the account as its owner sees it.
pub(crate) async fn account(State(service): State<Service>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let id = authenticated(&service, &headers).await?;
    let (name, email, tier, verified): (String, String, String, i64) =
        sqlx::query_as("SELECT name, email, tier, email_verified FROM accounts WHERE id = ?")
            .bind(&id)
            .fetch_one(&service.database)
            .await?;
    Ok(Json(json!({"id": id, "name": name, "email": email, "tier": tier, "email_verified": verified != 0})))
}
