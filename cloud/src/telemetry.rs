//! `POST /v1/telemetry`: anonymous events from devices whose owner switched telemetry on (it is
//! off by default): a random install id, the event's name, and optionally its duration, an error
//! code, the device class and the OS. Nothing else is accepted — an unknown field is refused, and
//! so is a request with credentials, so events cannot be joined to an account. The time is kept
//! to the hour, no address is stored, and events are forgotten after the configured time.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;

use crate::clock::now;
use crate::error::ApiError;
use crate::extract::Body;
use crate::network::ClientAddress;
use crate::openapi::ErrorBody;
use crate::server::Service;

/// One event, and nothing more.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Event {
    install_id: String,
    event: String,
    #[serde(default)]
    duration_ms: Option<u64>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    device_class: Option<String>,
    #[serde(default)]
    os: Option<String>,
}

fn word(text: &str, what: &str, longest: usize) -> Result<(), ApiError> {
    let valid = !text.is_empty()
        && text.len() <= longest
        && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("{what} must be 1 to {longest} letters, digits, _ . or -")))
    }
}

#[utoipa::path(
    post,
    path = "/v1/telemetry",
    tag = "telemetry",
    request_body = Event,
    responses((status = 204, description = "Kept"), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
)]
pub(crate) async fn record(
    State(service): State<Service>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Body(event): Body<Event>,
) -> Result<StatusCode, ApiError> {
    if headers.contains_key(header::AUTHORIZATION) || headers.contains_key(header::COOKIE) {
        return Err(ApiError::invalid(
            "telemetry is sent without credentials, so that it cannot be joined to an account",
        ));
    }
    service.limits.telemetry(address)?;
    let install = event.install_id.len() == 32 && event.install_id.bytes().all(|b| b.is_ascii_hexdigit());
    if !install {
        return Err(ApiError::invalid("install_id must be 32 hexadecimal digits, made at random on the device"));
    }
    word(&event.event, "event", 64)?;
    for (value, what) in [(&event.error_code, "error_code"), (&event.device_class, "device_class"), (&event.os, "os")] {
        if let Some(value) = value {
            word(value, what, 64)?;
        }
    }
    sqlx::query(
        "INSERT INTO telemetry_events (install_id, event, duration_ms, error_code, device_class, os, received_hour) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.install_id.to_ascii_lowercase())
    .bind(&event.event)
    .bind(event.duration_ms.map(|duration| duration.min(i64::MAX as u64) as i64))
    .bind(event.error_code.as_deref())
    .bind(event.device_class.as_deref())
    .bind(event.os.as_deref())
    .bind(now() / 3600 * 3600)
    .execute(&service.database)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Forgets events older than the configured time.
pub(crate) async fn purge(service: &Service) -> Result<u64, sqlx::Error> {
    let cutoff = now() - service.settings.telemetry.retention_seconds;
    let purged = sqlx::query("DELETE FROM telemetry_events WHERE received_hour < $1")
        .bind(cutoff)
        .execute(&service.database)
        .await?;
    Ok(purged.rows_affected())
}
