//! Account settings: whether sync is on, telemetry, consent to training, marketing email (the
//! history switch stays on each device). Every write names the version it was based on; a stale
//! write is refused so the device re-reads, except a withdrawal of training consent, which always
//! applies, so that a concurrent grant can never win over it. Every change of training consent is
//! kept (when, from which device, which way).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::now;
use crate::error::ApiError;
use crate::extract::{Body, Caller};
use crate::openapi::ErrorBody;
use crate::server::Service;

/// The settings as stored: version, sync, telemetry, training consent, marketing email.
type SettingsRow = (i64, i64, i64, i64, i64);

async fn read(connection: &mut sqlx::AnyConnection, account: &str) -> Result<SettingsRow, ApiError> {
    Ok(sqlx::query_as(
        "SELECT settings_version, sync_enabled, telemetry, training_consent, marketing_email FROM accounts WHERE id = $1",
    )
    .bind(account)
    .fetch_one(connection)
    .await?)
}

fn settings_json(row: SettingsRow) -> Value {
    let (version, sync, telemetry, training_consent, marketing_email) = row;
    json!({
        "version": version, "sync": sync != 0, "telemetry": telemetry != 0,
        "training_consent": training_consent != 0, "marketing_email": marketing_email != 0,
    })
}

/// The account's settings now.
pub(crate) async fn current(service: &Service, account: &str) -> Result<Value, ApiError> {
    let mut connection = service.database.acquire().await?;
    Ok(settings_json(read(&mut connection, account).await?))
}

/// `GET /v1/account/settings`.
#[utoipa::path(
    get,
    path = "/v1/account/settings",
    tag = "account",
    responses((status = 200, description = "The settings", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn get(State(service): State<Service>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(current(&service, &caller.account).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct SettingsWrite {
    /// The version the device read before this change.
    based_on: i64,
    /// The device making the change (kept with consent changes).
    device_id: String,
    #[serde(default)]
    sync: Option<bool>,
    #[serde(default)]
    telemetry: Option<bool>,
    #[serde(default)]
    training_consent: Option<bool>,
    #[serde(default)]
    marketing_email: Option<bool>,
}

/// `PUT /v1/account/settings`: change some settings, based on the version the device read.
#[utoipa::path(
    put,
    path = "/v1/account/settings",
    tag = "account",
    request_body = SettingsWrite,
    responses((status = 200, description = "The settings", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn put(
    State(service): State<Service>,
    caller: Caller,
    Body(request): Body<SettingsWrite>,
) -> Result<Json<Value>, ApiError> {
    let device = request.device_id.trim();
    if device.is_empty() || device.len() > 64 {
        return Err(ApiError::invalid("device_id must be 1 to 64 characters"));
    }
    let mut transaction = service.database.begin().await?;
    // Taking the row's write lock first keeps the version check and the write one step.
    sqlx::query("UPDATE accounts SET settings_version = settings_version WHERE id = $1")
        .bind(&caller.account)
        .execute(&mut *transaction)
        .await?;
    let current = read(&mut transaction, &caller.account).await?;
    let stale = request.based_on != current.0;
    let withdrawal = request.training_consent == Some(false);
    let others = request.sync.is_some() || request.telemetry.is_some() || request.marketing_email.is_some();
    if stale && (!withdrawal || others) {
        if withdrawal {
            // The rest of this write is refused, but a withdrawal of consent is never lost.
            write(&mut transaction, &caller.account, device, current, None, None, Some(false), None).await?;
            transaction.commit().await?;
        }
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "stale_settings",
            format!(
                "the settings changed (version {} is not {}) since this device read them: read them again and \
                 reapply the change{}",
                current.0,
                request.based_on,
                if withdrawal { "; the withdrawal of training consent was applied" } else { "" }
            ),
        ));
    }
    let written = write(
        &mut transaction,
        &caller.account,
        device,
        current,
        request.sync,
        request.telemetry,
        request.training_consent,
        request.marketing_email,
    )
    .await?;
    transaction.commit().await?;
    Ok(Json(settings_json(written)))
}

#[expect(clippy::too_many_arguments, reason = "one argument per setting reads plainer than a struct here")]
async fn write(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: &str,
    device: &str,
    current: SettingsRow,
    sync: Option<bool>,
    telemetry: Option<bool>,
    training_consent: Option<bool>,
    marketing_email: Option<bool>,
) -> Result<SettingsRow, ApiError> {
    let pick = |new: Option<bool>, old: i64| new.map_or(old, i64::from);
    let written = (
        current.0 + 1,
        pick(sync, current.1),
        pick(telemetry, current.2),
        pick(training_consent, current.3),
        pick(marketing_email, current.4),
    );
    sqlx::query(
        "UPDATE accounts SET settings_version = $1, sync_enabled = $2, telemetry = $3, training_consent = $4, \
         marketing_email = $5 WHERE id = $6",
    )
    .bind(written.0)
    .bind(written.1)
    .bind(written.2)
    .bind(written.3)
    .bind(written.4)
    .bind(account)
    .execute(&mut **transaction)
    .await?;
    if let Some(consent) = training_consent {
        sqlx::query(
            "INSERT INTO consent_history (account_id, version, at, device_id, training_consent) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(account)
        .bind(written.0)
        .bind(now())
        .bind(device)
        .bind(i64::from(consent))
        .execute(&mut **transaction)
        .await?;
    }
    Ok(written)
}

/// The account's consent changes, oldest first.
pub(crate) async fn consent_history(service: &Service, account: &str) -> Result<Vec<Value>, ApiError> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT at, device_id, training_consent FROM consent_history WHERE account_id = $1 ORDER BY version",
    )
    .bind(account)
    .fetch_all(&service.database)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, device, consent)| json!({"at": at, "device_id": device, "training_consent": consent != 0}))
        .collect())
}

/// `GET /v1/account/consent`: every change of training consent.
#[utoipa::path(
    get,
    path = "/v1/account/consent",
    tag = "account",
    responses((status = 200, description = "Every change of training consent", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn consent(State(service): State<Service>, caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"history": consent_history(&service, &caller.account).await?})))
}
