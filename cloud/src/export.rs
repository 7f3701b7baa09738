//! `GET /v1/account/export`: everything the service holds about the account as one tar archive,
//! streamed (docs/export.md): the account, settings, consent history and sessions as JSON, and the
//! records and blobs exactly as stored — sealed, so the archive is as private as the account; a
//! client opens them with the user's password (the daemon's `account export` and the web page are
//! to do it: issues 15 and 18).

use axum::body::{Body as RawBody, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sqlx::Row;
use tokio::sync::mpsc;

use crate::clock::now;
use crate::encoding::hex;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::openapi::{Binary, ErrorBody};
use crate::server::Service;
use crate::settings;

/// The folder every entry of the archive is in.
const ROOT: &str = "3dgpt-export";

const README: &str = "This is everything the 3D GPT cloud service held about your account when you \
exported it (the format: docs/export.md in 3D GPT's sources). account.json, settings.json, \
consent_history.json and sessions.json are plain JSON. records.json lists your generations; \
records/ and blobs/ hold them as the service stored them, sealed with your data key, which only \
your password (or your recovery code) unlocks; docs/export.md says how they open.\n";

/// One entry's tar header, followed by its bytes and the padding to a whole block.
fn entry(path: &str, bytes: &[u8], mtime: i64) -> Result<Vec<u8>, std::io::Error> {
    let mut header = tar::Header::new_ustar();
    header.set_path(format!("{ROOT}/{path}"))?;
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(mtime.max(0) as u64);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut block = Vec::with_capacity(512 + bytes.len() + 512);
    block.extend_from_slice(header.as_bytes());
    block.extend_from_slice(bytes);
    block.resize(block.len().next_multiple_of(512), 0);
    Ok(block)
}

fn json_entry(path: &str, value: &Value, mtime: i64) -> Result<Vec<u8>, ApiError> {
    let text = serde_json::to_vec_pretty(value).map_err(ApiError::internal)?;
    entry(path, &text, mtime).map_err(ApiError::internal)
}

/// A record's metadata as the archive lists it.
type RecordListing = (String, i64, String, Vec<u8>, String, i64, i64, i64, Option<i64>);

#[utoipa::path(
    get,
    path = "/v1/account/export",
    tag = "account",
    responses((status = 200, description = "A tar archive (docs/export.md)", body = Binary, content_type = "application/x-tar"), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn export(State(service): State<Service>, caller: Caller) -> Result<Response, ApiError> {
    let at = now();
    let row = sqlx::query(
        "SELECT email, name, birth_date, country, tier, email_verified, created_at, kdf_salt, kdf_memory_kib, \
         kdf_iterations, kdf_parallelism, wrapped_data_key, recovery_wrapped_data_key FROM accounts WHERE id = $1",
    )
    .bind(&caller.account)
    .fetch_one(&service.database)
    .await?;
    let text = |column: &str| row.try_get::<String, _>(column);
    let number = |column: &str| row.try_get::<i64, _>(column);
    let bytes = |column: &str| row.try_get::<Vec<u8>, _>(column).map(|value| hex(&value));
    let account_json = json!({
        "format": "3dgpt-export v1", "exported_at": at, "id": caller.account, "email": text("email")?,
        "name": text("name")?, "date_of_birth": text("birth_date")?,
        "country": row.try_get::<Option<String>, _>("country")?, "tier": text("tier")?,
        "email_verified": number("email_verified")? != 0, "created_at": number("created_at")?,
        "kdf": {"algorithm": "argon2id", "salt": bytes("kdf_salt")?, "memory_kib": number("kdf_memory_kib")?,
                "iterations": number("kdf_iterations")?, "parallelism": number("kdf_parallelism")?},
        "wrapped_data_key": bytes("wrapped_data_key")?,
        "recovery_wrapped_data_key": bytes("recovery_wrapped_data_key")?,
    });
    let settings_json = settings::current(&service, &caller.account).await?;
    let consent = settings::consent_history(&service, &caller.account).await?;
    let sessions: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT device_name, os, client_version, created_at, last_seen_at FROM sessions \
         WHERE account_id = $1 AND revoked = 0 ORDER BY created_at",
    )
    .bind(&caller.account)
    .fetch_all(&service.database)
    .await?;
    let sessions: Vec<Value> = sessions
        .into_iter()
        .map(|(device, os, version, created, seen)| {
            json!({"device_name": device, "os": os, "client_version": version, "created_at": created, "last_seen_at": seen})
        })
        .collect();
    let records: Vec<RecordListing> = sqlx::query_as(
        "SELECT id, seq, device_id, sealed, blobs, size, created_at, updated_at, deleted_at FROM records \
         WHERE account_id = $1 ORDER BY seq",
    )
    .bind(&caller.account)
    .fetch_all(&service.database)
    .await?;
    let blobs: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, created_at FROM blobs WHERE account_id = $1 ORDER BY name")
            .bind(&caller.account)
            .fetch_all(&service.database)
            .await?;

    let mut head = Vec::new();
    head.extend(entry("README.txt", README.as_bytes(), at).map_err(ApiError::internal)?);
    head.extend(json_entry("account.json", &account_json, at)?);
    head.extend(json_entry("settings.json", &settings_json, at)?);
    head.extend(json_entry("consent_history.json", &Value::Array(consent), at)?);
    head.extend(json_entry("sessions.json", &Value::Array(sessions), at)?);
    let listing: Vec<Value> = records
        .iter()
        .map(|(id, seq, device, _, blob_names, size, created, updated, deleted)| {
            json!({
                "id": id, "seq": seq, "device_id": device, "size": size, "created_at": created,
                "updated_at": updated, "deleted": deleted.is_some(),
                "blobs": blob_names.split_whitespace().collect::<Vec<_>>(),
            })
        })
        .collect();
    head.extend(json_entry("records.json", &Value::Array(listing), at)?);
    for (id, _, _, sealed, _, _, _, updated, deleted) in &records {
        if deleted.is_none() {
            head.extend(entry(&format!("records/{id}.sealed"), sealed, *updated).map_err(ApiError::internal)?);
        }
    }

    // The blobs follow one at a time, so the archive never has to fit in memory.
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let account = caller.account.clone();
    tokio::spawn(async move {
        if sender.send(Ok(Bytes::from(head))).await.is_err() {
            return;
        }
        for (name, created) in blobs {
            let piece = match service.blobs.get(&account, &name).await {
                Ok(bytes) => entry(&format!("blobs/{name}"), &bytes, created).map(Bytes::from),
                Err(error) => {
                    tracing::error!(%error, %account, blob = %name, "export could not read a blob");
                    Err(std::io::Error::other(format!("blob {name} could not be read")))
                }
            };
            let failed = piece.is_err();
            if sender.send(piece).await.is_err() || failed {
                return;
            }
        }
        // Two zero blocks end a tar archive.
        let _ = sender.send(Ok(Bytes::from(vec![0u8; 1024]))).await;
    });
    let body = RawBody::from_stream(tokio_stream::wrappers::ReceiverStream::new(receiver));
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-tar"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"3dgpt-export.tar\""),
        ],
        body,
    )
        .into_response())
}
