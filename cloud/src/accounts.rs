//! Accounts: the pre-login call, sign-up behind the age gate, the account as its owner sees it,
//! and the changes its owner makes (name, password). The password never reaches the server:
//! clients send the auth key `docs/crypto.md` derives, and the server keeps argon2id of it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;
use threedgpt_crypto::{KdfParams, normalize_email, server_hash};

use crate::age::Date;
use crate::clock::now;
use crate::encoding::{hex, unhex, unhex_key};
use crate::error::ApiError;
use crate::extract::{Body, Caller};
use crate::network::ClientAddress;
use crate::openapi::ErrorBody;
use crate::server::Service;
use crate::sessions::{check_auth_key, invalid_credentials, revoke_others};
use crate::{database, mail};

fn kdf_json(params: KdfParams) -> Value {
    json!({"algorithm": "argon2id", "memory_kib": params.memory_kib, "iterations": params.iterations, "parallelism": params.parallelism})
}

fn email(text: &str) -> Result<String, ApiError> {
    normalize_email(text).map_err(|error| ApiError::invalid(error.to_string()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct PreloginRequest {
    email: String,
}

/// `POST /v1/accounts/prelogin`: the salt and argon2id parameters to derive keys with. An email
/// with no account gets a fake salt of the same shape (stable per email), so the answer tells
/// nothing about who has an account.
#[utoipa::path(
    post,
    path = "/v1/accounts/prelogin",
    tag = "accounts",
    request_body = PreloginRequest,
    responses((status = 200, description = "The salt and argon2id parameters", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
)]
pub(crate) async fn prelogin(
    State(service): State<Service>,
    Body(request): Body<PreloginRequest>,
) -> Result<Json<Value>, ApiError> {
    let email = email(&request.email)?;
    let row: Option<(Vec<u8>, i64, i64, i64)> = sqlx::query_as(
        "SELECT kdf_salt, kdf_memory_kib, kdf_iterations, kdf_parallelism FROM accounts WHERE email = $1",
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

/// Key material a client derived from a password: what sign-up and a password change send.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct PasswordMaterial {
    /// The salt the client derived its keys with (from its own pre-login call, or fresh).
    salt: String,
    kdf: KdfJson,
    auth_key: String,
    /// The data key wrapped by the encryption key, the account id as associated data.
    wrapped_data_key: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct KdfJson {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

/// Checked password material, ready to store.
struct Derived {
    salt: Vec<u8>,
    params: KdfParams,
    auth_salt: [u8; 16],
    auth_hash: Vec<u8>,
    wrapped: Vec<u8>,
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

impl Derived {
    /// Replaces the account's password columns with these (a password change, a recovery).
    async fn store(&self, connection: &mut sqlx::AnyConnection, account: &str) -> Result<(), sqlx::Error> {
        let update = sqlx::query(
            "UPDATE accounts SET kdf_salt = $1, kdf_memory_kib = $2, kdf_iterations = $3, kdf_parallelism = $4, \
             auth_salt = $5, auth_hash = $6, wrapped_data_key = $7 WHERE id = $8",
        );
        self.bind(update).bind(account).execute(connection).await?;
        Ok(())
    }

    /// Binds the seven password columns, in the order `kdf_salt, kdf_memory_kib, kdf_iterations,
    /// kdf_parallelism, auth_salt, auth_hash, wrapped_data_key`.
    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(&self.salt)
            .bind(i64::from(self.params.memory_kib))
            .bind(i64::from(self.params.iterations))
            .bind(i64::from(self.params.parallelism))
            .bind(self.auth_salt.as_slice())
            .bind(&self.auth_hash)
            .bind(&self.wrapped)
    }
}

impl PasswordMaterial {
    async fn check(self, service: &Service) -> Result<Derived, ApiError> {
        let params = KdfParams {
            memory_kib: self.kdf.memory_kib,
            iterations: self.kdf.iterations,
            parallelism: self.kdf.parallelism,
        }
        .at_least(service.config.minimum_kdf)
        .map_err(|error| ApiError::invalid(error.to_string()))?;
        let salt = unhex(&self.salt, "salt", 16)?;
        let auth_key = unhex_key(&self.auth_key, "auth_key")?;
        let wrapped = unhex(&self.wrapped_data_key, "wrapped_data_key", threedgpt_crypto::WRAPPED_LEN)?;
        let auth_salt = threedgpt_crypto::random_salt().map_err(ApiError::internal)?;
        let hashing = service.config.server_kdf;
        let auth_hash = tokio::task::spawn_blocking(move || server_hash(&auth_key, &auth_salt, hashing))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        Ok(Derived { salt, params, auth_salt, auth_hash: auth_hash.as_bytes().to_vec(), wrapped })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct SignupRequest {
    /// Chosen by the client (`acct_` and 32 hexadecimal digits), because the wrapped data key
    /// names it as associated data before the server has seen anything.
    account_id: String,
    name: String,
    email: String,
    date_of_birth: String,
    #[serde(default)]
    country: Option<String>,
    #[serde(flatten)]
    password: PasswordMaterial,
    recovery_wrapped_data_key: String,
    recovery_verifier_digest: String,
}

fn account_id(text: &str) -> Result<String, ApiError> {
    let valid = text.strip_prefix("acct_").is_some_and(|digits| {
        digits.len() == 32 && digits.bytes().all(|digit| matches!(digit, b'0'..=b'9' | b'a'..=b'f'))
    });
    if valid {
        Ok(text.to_owned())
    } else {
        Err(ApiError::invalid("account_id must be acct_ and 32 lower-case hexadecimal digits, chosen at random"))
    }
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
#[utoipa::path(
    post,
    path = "/v1/accounts",
    tag = "accounts",
    request_body = SignupRequest,
    responses((status = 202, description = "Check your inbox (the same for a new email and a taken one)", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
)]
pub(crate) async fn signup(
    State(service): State<Service>,
    ClientAddress(address): ClientAddress,
    Body(request): Body<SignupRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    service.limits.address(address)?;
    let birth = Date::parse(&request.date_of_birth)
        .ok_or_else(|| ApiError::invalid("date_of_birth must be a date written YYYY-MM-DD"))?;
    let country = request.country.as_deref().map(str::trim).filter(|country| !country.is_empty());
    let minimum = service.settings.minimum_age(country);
    if birth.age_on(Date::today()) < i64::from(minimum) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "too_young",
            format!("3D GPT accounts are for people aged {minimum} or older here"),
        ));
    }
    let id = account_id(&request.account_id)?;
    let name = display_name(&request.name)?;
    let email = email(&request.email)?;
    let recovery_wrapped =
        unhex(&request.recovery_wrapped_data_key, "recovery_wrapped_data_key", threedgpt_crypto::WRAPPED_LEN)?;
    let verifier_digest = unhex(&request.recovery_verifier_digest, "recovery_verifier_digest", 32)?;
    let derived = request.password.check(&service).await?;
    let insert = sqlx::query(
        "INSERT INTO accounts (id, email, name, birth_date, country, kdf_salt, kdf_memory_kib, kdf_iterations, \
         kdf_parallelism, auth_salt, auth_hash, wrapped_data_key, recovery_wrapped_data_key, recovery_verifier_digest, \
         email_verified, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(&email)
    .bind(&name)
    .bind(&request.date_of_birth)
    .bind(country);
    let inserted = derived
        .bind(insert)
        .bind(&recovery_wrapped)
        .bind(&verifier_digest)
        // Without SMTP there is nobody to mail a link to: the server said so when it started.
        .bind(i64::from(!service.config.smtp_configured))
        .bind(now())
        .execute(&service.database)
        .await?;
    if inserted.rows_affected() == 1 {
        tracing::info!(account = %id, "account created");
        mail::start_verification(&service, &id, &email).await?;
    }
    Ok(signup_answer())
}

fn display_name(text: &str) -> Result<String, ApiError> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name must be 1 to 200 characters, none of them control characters"));
    }
    Ok(name.to_owned())
}

/// `GET /v1/account`: the account as its owner sees it, with the wrapped data key a new device
/// unwraps with its encryption key.
#[utoipa::path(
    get,
    path = "/v1/account",
    tag = "accounts",
    responses((status = 200, description = "The account", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn account(State(service): State<Service>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let row = sqlx::query(
        "SELECT name, email, tier, email_verified, wrapped_data_key, created_at, subscription_status \
         FROM accounts WHERE id = $1",
    )
    .bind(&caller.account)
    .fetch_one(&service.database)
    .await?;
    let tier: String = row.try_get("tier")?;
    // A Free account is offered the checkout, which hands its id back in the payment webhook.
    let upgrade_url = match &service.settings.payments.checkout_url {
        Some(url) if tier == "free" => {
            let separator = if url.contains('?') { '&' } else { '?' };
            Value::String(format!("{url}{separator}client_reference_id={}", caller.account))
        }
        _ => Value::Null,
    };
    Ok(Json(json!({
        "id": caller.account, "name": row.try_get::<String, _>("name")?,
        "email": row.try_get::<String, _>("email")?, "tier": tier,
        "email_verified": row.try_get::<i64, _>("email_verified")? != 0,
        "wrapped_data_key": hex(&row.try_get::<Vec<u8>, _>("wrapped_data_key")?),
        "created_at": row.try_get::<i64, _>("created_at")?,
        "subscription_status": row.try_get::<Option<String>, _>("subscription_status")?,
        "upgrade_url": upgrade_url,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct AccountChange {
    #[serde(default)]
    name: Option<String>,
}

/// `PATCH /v1/account`: change what needs no proof of the password (the name).
#[utoipa::path(
    patch,
    path = "/v1/account",
    tag = "accounts",
    request_body = AccountChange,
    responses((status = 200, description = "The account", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn change(
    State(service): State<Service>,
    caller: Caller,
    Body(request): Body<AccountChange>,
) -> Result<Json<Value>, ApiError> {
    if let Some(name) = request.name {
        let name = display_name(&name)?;
        sqlx::query("UPDATE accounts SET name = $1 WHERE id = $2")
            .bind(&name)
            .bind(&caller.account)
            .execute(&service.database)
            .await?;
    }
    account(State(service), caller).await
}

/// Proves the caller knows the password now: its current auth key checks against the account.
pub(crate) async fn prove_password(service: &Service, caller: &Caller, auth_key: &str) -> Result<(), ApiError> {
    let auth_key = unhex_key(auth_key, "auth_key")?;
    service.limits.account(&caller.account)?;
    let (email,): (String,) = sqlx::query_as("SELECT email FROM accounts WHERE id = $1")
        .bind(&caller.account)
        .fetch_one(&service.database)
        .await?;
    match check_auth_key(service, &email, auth_key).await? {
        Some(account) if account == caller.account => Ok(()),
        _ => Err(invalid_credentials()),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct PasswordChange {
    /// The auth key of the current password.
    auth_key: String,
    new: PasswordMaterial,
}

/// `POST /v1/account/password`: a new password — new salt, parameters and auth key, the same
/// data key wrapped anew — and every other session of the account ends.
#[utoipa::path(
    post,
    path = "/v1/account/password",
    tag = "accounts",
    request_body = PasswordChange,
    responses((status = 204, description = "Changed; the other sessions ended"), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn change_password(
    State(service): State<Service>,
    caller: Caller,
    Body(request): Body<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    prove_password(&service, &caller, &request.auth_key).await?;
    let derived = request.new.check(&service).await?;
    derived.store(&mut *service.database.acquire().await?, &caller.account).await?;
    revoke_others(&service, &caller.account, &caller.session).await?;
    tracing::info!(account = %caller.account, "password changed; other sessions revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct AccountDeletion {
    /// The auth key of the password: deleting everything takes the password, not only a token.
    auth_key: String,
}

/// `DELETE /v1/account`: the account and everything of it — sessions, records, blobs (in the blob
/// store too) — with nothing of its email, name or records left in the database's files. The email
/// can sign up again.
#[utoipa::path(
    delete,
    path = "/v1/account",
    tag = "accounts",
    request_body = AccountDeletion,
    responses((status = 204, description = "Deleted, with everything in it"), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn delete(
    State(service): State<Service>,
    caller: Caller,
    Body(request): Body<AccountDeletion>,
) -> Result<StatusCode, ApiError> {
    prove_password(&service, &caller, &request.auth_key).await?;
    // Sessions first, so that nothing of the account can write while its blobs go.
    sqlx::query("UPDATE sessions SET revoked = 1 WHERE account_id = $1")
        .bind(&caller.account)
        .execute(&service.database)
        .await?;
    service
        .blobs
        .delete_account(&caller.account)
        .await
        .map_err(|error| ApiError::internal(format!("blob store: {error}")))?;
    let mut transaction = service.database.begin().await?;
    for statement in [
        "DELETE FROM record_blobs WHERE account_id = $1",
        "DELETE FROM records WHERE account_id = $1",
        "DELETE FROM blobs WHERE account_id = $1",
        "DELETE FROM consent_history WHERE account_id = $1",
        "DELETE FROM email_verifications WHERE account_id = $1",
    ] {
        sqlx::query(statement).bind(&caller.account).execute(&mut *transaction).await?;
    }
    sqlx::query("DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE account_id = $1)")
        .bind(&caller.account)
        .execute(&mut *transaction)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(&caller.account).execute(&mut *transaction).await?;
    sqlx::query("DELETE FROM accounts WHERE id = $1").bind(&caller.account).execute(&mut *transaction).await?;
    transaction.commit().await?;
    database::scrub(&service.database, service.engine).await?;
    tracing::info!(account = %caller.account, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct EmailChange {
    /// The auth key of the password.
    auth_key: String,
    email: String,
}

/// `POST /v1/account/email`: a new email for the account (keys do not depend on it: the salt is
/// the account's own). With mail configured the new address must be verified again.
#[utoipa::path(
    post,
    path = "/v1/account/email",
    tag = "accounts",
    request_body = EmailChange,
    responses((status = 200, description = "The account", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn change_email(
    State(service): State<Service>,
    caller: Caller,
    Body(request): Body<EmailChange>,
) -> Result<Json<Value>, ApiError> {
    prove_password(&service, &caller, &request.auth_key).await?;
    let email = email(&request.email)?;
    let changed = sqlx::query(
        "UPDATE accounts SET email = $1, email_verified = $2 WHERE id = $3 \
         AND NOT EXISTS (SELECT 1 FROM accounts other WHERE other.email = $1 AND other.id <> $3)",
    )
    .bind(&email)
    .bind(i64::from(!service.config.smtp_configured))
    .bind(&caller.account)
    .execute(&service.database)
    .await?;
    if changed.rows_affected() == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "email_taken",
            "another account uses this email: choose another, or delete that account first",
        ));
    }
    mail::start_verification(&service, &caller.account, &email).await?;
    account(State(service), caller).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RecoveryStart {
    email: String,
    /// The verifier derived from the recovery code (docs/crypto.md), hex.
    recovery_verifier: String,
}

/// The account whose stored digest the verifier matches, or the same refusal for a wrong code
/// and an unknown email.
async fn check_recovery(
    service: &Service,
    address: std::net::IpAddr,
    email_text: &str,
    verifier: &str,
) -> Result<String, ApiError> {
    service.limits.address(address)?;
    let email = email(email_text)?;
    let verifier = unhex_key(verifier, "recovery_verifier")?;
    service.limits.account(&email)?;
    let row: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT id, recovery_verifier_digest FROM accounts WHERE email = $1")
            .bind(&email)
            .fetch_optional(&service.database)
            .await?;
    let stored = row.as_ref().map_or(vec![0u8; 32], |(_, digest)| digest.clone());
    let matches = threedgpt_crypto::verifier_matches(&verifier, &stored);
    match row {
        Some((id, _)) if matches => Ok(id),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_recovery_code",
            "the email or the recovery code is not right",
        )),
    }
}

/// `POST /v1/accounts/recovery/start`: for the right recovery code, the copy of the data key it
/// wraps, so the device can set a new password without losing any synced data.
#[utoipa::path(
    post,
    path = "/v1/accounts/recovery/start",
    tag = "accounts",
    request_body = RecoveryStart,
    responses((status = 200, description = "The recovery copy of the data key", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
)]
pub(crate) async fn recovery_start(
    State(service): State<Service>,
    ClientAddress(address): ClientAddress,
    Body(request): Body<RecoveryStart>,
) -> Result<Json<Value>, ApiError> {
    let id = check_recovery(&service, address, &request.email, &request.recovery_verifier).await?;
    let (wrapped,): (Vec<u8>,) = sqlx::query_as("SELECT recovery_wrapped_data_key FROM accounts WHERE id = $1")
        .bind(&id)
        .fetch_one(&service.database)
        .await?;
    Ok(Json(json!({"account_id": id, "recovery_wrapped_data_key": hex(&wrapped)})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RecoveryFinish {
    email: String,
    recovery_verifier: String,
    /// The new password's key material, the data key wrapped anew.
    new: PasswordMaterial,
    /// A new recovery code's copy of the data key and its verifier's digest: each code works once.
    recovery_wrapped_data_key: String,
    recovery_verifier_digest: String,
}

/// `POST /v1/accounts/recovery/finish`: a new password and a new recovery code for the right
/// (old) recovery code; every session ends, and the device signs in with the new password.
#[utoipa::path(
    post,
    path = "/v1/accounts/recovery/finish",
    tag = "accounts",
    request_body = RecoveryFinish,
    responses((status = 204, description = "A new password and recovery code; every session ended"), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
)]
pub(crate) async fn recovery_finish(
    State(service): State<Service>,
    ClientAddress(address): ClientAddress,
    Body(request): Body<RecoveryFinish>,
) -> Result<StatusCode, ApiError> {
    let id = check_recovery(&service, address, &request.email, &request.recovery_verifier).await?;
    let recovery_wrapped =
        unhex(&request.recovery_wrapped_data_key, "recovery_wrapped_data_key", threedgpt_crypto::WRAPPED_LEN)?;
    let verifier_digest = unhex(&request.recovery_verifier_digest, "recovery_verifier_digest", 32)?;
    let derived = request.new.check(&service).await?;
    // The new password and the new code together, or neither.
    let mut transaction = service.database.begin().await?;
    derived.store(&mut transaction, &id).await?;
    sqlx::query("UPDATE accounts SET recovery_wrapped_data_key = $1, recovery_verifier_digest = $2 WHERE id = $3")
        .bind(&recovery_wrapped)
        .bind(&verifier_digest)
        .bind(&id)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    revoke_others(&service, &id, "").await?;
    tracing::info!(account = %id, "recovered with the recovery code; every session revoked");
    Ok(StatusCode::NO_CONTENT)
}
