//! Sync storage: sealed blobs named by the SHA-256 of their ciphertext (idempotent, in one
//! request or resumable in parts, the quota checked before any bytes are taken), sealed generation
//! records that refer to them, deletions as tombstones, and the list of changes since a cursor.
//! The server sees ids, sizes, times and the source device, never what a record or blob says.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::{Body as RawBody, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clock::now;
use crate::config::Quota;
use crate::encoding::{base64, hex, unbase64};
use crate::error::ApiError;
use crate::extract::{Body, Caller, Path, Query};
use crate::openapi::{Binary, ErrorBody};
use crate::server::Service;

/// The largest request body of blob bytes: a whole blob, or one part of a bigger one.
pub(crate) const PART_MAX: usize = 8 << 20;
/// The most parts of one blob (so a blob is at most 8 GiB).
const PARTS_MAX: u32 = 1024;
/// The largest sealed record.
const RECORD_MAX: usize = 64 << 10;
/// The most blobs one record refers to.
const RECORD_BLOBS_MAX: usize = 16;
/// The most changes one page lists.
const PAGE_MAX: i64 = 1000;
/// What every sealed blob and record starts with (docs/crypto.md): the server refuses anything
/// else, so a client that forgot to seal cannot store plaintext.
const SEALED_MAGIC: &[u8] = b"3GB1";
/// The smallest sealed value: magic, salt, one empty chunk's tag.
const SEALED_MIN: usize = 4 + 16 + 16;

fn check_sealed(bytes: &[u8], what: &str) -> Result<(), ApiError> {
    if bytes.len() < SEALED_MIN || !bytes.starts_with(SEALED_MAGIC) {
        return Err(ApiError::invalid(format!(
            "{what} is not sealed: seal it with the data key first (docs/crypto.md, \"Blobs and records\")"
        )));
    }
    Ok(())
}

fn check_blob_name(name: &str) -> Result<(), ApiError> {
    if name.len() == 64 && name.bytes().all(|digit| matches!(digit, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(ApiError::invalid("a blob's name is the SHA-256 of its sealed bytes, 64 lower-case hexadecimal digits"))
    }
}

fn check_id(text: &str, what: &str) -> Result<(), ApiError> {
    let valid = (1..=64).contains(&text.len())
        && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if valid { Ok(()) } else { Err(ApiError::invalid(format!("{what} must be 1 to 64 letters, digits, - or _"))) }
}

fn store_error(error: object_store::Error) -> ApiError {
    ApiError::internal(format!("blob store: {error}"))
}

/// What an account keeps synced, against its tier's quota.
struct Usage {
    tier: String,
    quota: Quota,
    bytes: u64,
    generations: u64,
}

impl Usage {
    fn tier_name(&self) -> &'static str {
        if self.tier == "pro" { "Pro" } else { "Free" }
    }

    fn json(&self) -> Value {
        json!({
            "tier": self.tier, "bytes": self.bytes, "bytes_limit": self.quota.bytes,
            "generations": self.generations, "generations_limit": self.quota.generations,
        })
    }

    /// Refuses adding `bytes` (and `generations`) beyond the quota.
    fn allow(&self, bytes: u64, generations: u64) -> Result<(), ApiError> {
        let raise = if self.tier == "pro" {
            "delete generations you no longer need"
        } else {
            "delete generations you no longer need, or upgrade to Pro"
        };
        if self.bytes.saturating_add(bytes) > self.quota.bytes {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "quota_exceeded",
                format!(
                    "this would take your synced data to {} bytes; the {} tier keeps {} bytes: {raise}",
                    self.bytes.saturating_add(bytes),
                    self.tier_name(),
                    self.quota.bytes
                ),
            ));
        }
        if generations > 0 && self.generations.saturating_add(generations) > self.quota.generations {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "quota_exceeded",
                format!("the {} tier syncs {} generations: {raise}", self.tier_name(), self.quota.generations),
            ));
        }
        Ok(())
    }
}

/// What the account keeps synced now, if it may upload.
async fn current_usage(service: &Service, account: &str) -> Result<Usage, ApiError> {
    let mut connection = service.database.acquire().await?;
    usage(service, &mut connection, account, Purpose::Upload).await
}

/// Why the usage is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// To show it.
    Show,
    /// Before an upload, which needs sync on and a verified email.
    Upload,
}

async fn usage(
    service: &Service,
    connection: &mut sqlx::AnyConnection,
    account: &str,
    purpose: Purpose,
) -> Result<Usage, ApiError> {
    let (tier, verified, sync_enabled): (String, i64, i64) =
        sqlx::query_as("SELECT tier, email_verified, sync_enabled FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_one(&mut *connection)
            .await?;
    if purpose == Purpose::Upload && sync_enabled == 0 {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "sync_disabled",
            "sync is off for this account: turn it on in the account settings to upload",
        ));
    }
    if purpose == Purpose::Upload && verified == 0 {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "email_unverified",
            "sync starts once the account's email is verified: open the link we mailed you",
        ));
    }
    let (blob_bytes,): (Option<i64>,) =
        sqlx::query_as("SELECT CAST(SUM(size) AS BIGINT) FROM blobs WHERE account_id = $1")
            .bind(account)
            .fetch_one(&mut *connection)
            .await?;
    let (record_bytes, generations): (Option<i64>, i64) = sqlx::query_as(
        "SELECT CAST(SUM(size) AS BIGINT), COUNT(*) FROM records WHERE account_id = $1 AND deleted_at IS NULL",
    )
    .bind(account)
    .fetch_one(&mut *connection)
    .await?;
    let bytes = (blob_bytes.unwrap_or(0) + record_bytes.unwrap_or(0)).max(0) as u64;
    Ok(Usage { quota: service.settings.quota(&tier), tier, bytes, generations: generations.max(0) as u64 })
}

/// `GET /v1/account/usage`: what the account keeps synced, and its tier's limits.
#[utoipa::path(
    get,
    path = "/v1/account/usage",
    tag = "sync",
    responses((status = 200, description = "Synced bytes and generations against the tier's quota", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn account_usage(State(service): State<Service>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let mut connection = service.database.acquire().await?;
    let usage = usage(&service, &mut connection, &caller.account, Purpose::Show).await?;
    Ok(Json(usage.json()))
}

async fn blob_exists(service: &Service, account: &str, name: &str) -> Result<Option<i64>, ApiError> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT size FROM blobs WHERE account_id = $1 AND name = $2")
        .bind(account)
        .bind(name)
        .fetch_optional(&service.database)
        .await?;
    Ok(row.map(|(size,)| size))
}

fn declared_length(headers: &HeaderMap) -> Result<usize, ApiError> {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok())
        .ok_or_else(|| {
            ApiError::new(StatusCode::LENGTH_REQUIRED, "length_required", "send blob bytes with a Content-Length")
        })?;
    if length > PART_MAX {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("at most {PART_MAX} bytes go in one request: upload a bigger blob in parts"),
        ));
    }
    Ok(length)
}

/// `answer`, once the request's body (at most `length` bytes, already checked against the limit)
/// has been read and dropped. Answering before the body is in makes the server close a connection
/// that still has unread bytes, which resets it: the client, still sending, sees a broken pipe
/// instead of this answer (an already-stored blob, a full quota).
async fn drained<T>(body: RawBody, length: usize, answer: T) -> T {
    let _ = axum::body::to_bytes(body, length).await;
    answer
}

async fn read_body(body: RawBody, length: usize) -> Result<Bytes, ApiError> {
    let bytes = axum::body::to_bytes(body, length)
        .await
        .map_err(|_| ApiError::invalid("the body was longer than its Content-Length, or the connection dropped"))?;
    if bytes.len() != length {
        return Err(ApiError::invalid("the body was shorter than its Content-Length"));
    }
    Ok(bytes)
}

async fn remember_blob(service: &Service, account: &str, name: &str, size: u64) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO blobs (account_id, name, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(account)
    .bind(name)
    .bind(size as i64)
    .bind(now())
    .execute(&service.database)
    .await?;
    Ok(())
}

fn blob_answer(status: StatusCode, name: &str, size: i64) -> Response {
    (status, Json(json!({"name": name, "size": size}))).into_response()
}

/// `PUT /v1/blobs/{name}`: a whole sealed blob. Storing one the account has is a no-op.
#[utoipa::path(
    put,
    path = "/v1/blobs/{name}",
    tag = "sync",
    request_body(content = Binary, content_type = "application/octet-stream"),
    params(("name" = String, Path, description = "SHA-256 of the sealed bytes, hex")),
    responses((status = 200, description = "Already stored", body = Object), (status = 201, description = "Stored", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn put_blob(
    State(service): State<Service>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    check_blob_name(&name)?;
    let length = declared_length(&headers)?;
    let admitted = async {
        let usage = current_usage(&service, &caller.account).await?;
        if let Some(size) = blob_exists(&service, &caller.account, &name).await? {
            return Ok(Some(blob_answer(StatusCode::OK, &name, size)));
        }
        usage.allow(length as u64, 0)?;
        Ok(None)
    };
    match admitted.await {
        Ok(None) => {}
        Ok(Some(answer)) => return Ok(drained(body, length, answer).await),
        Err(error) => return Err(drained(body, length, error).await),
    }
    let bytes = read_body(body, length).await?;
    check_sealed(&bytes, "the blob")?;
    if hex(&Sha256::digest(&bytes)) != name {
        return Err(ApiError::invalid("the blob's bytes do not hash to its name (SHA-256 of the sealed bytes)")
            .with_code("hash_mismatch"));
    }
    service.blobs.put(&caller.account, &name, bytes).await.map_err(store_error)?;
    remember_blob(&service, &caller.account, &name, length as u64).await?;
    Ok(blob_answer(StatusCode::CREATED, &name, length as i64))
}

/// `PUT /v1/blobs/{name}/parts/{part}`: one part (from 0) of a blob uploaded in parts; sending a
/// part again replaces it, so an upload resumes from the parts the server lists.
#[utoipa::path(
    put,
    path = "/v1/blobs/{name}/parts/{part}",
    tag = "sync",
    request_body(content = Binary, content_type = "application/octet-stream"),
    params(("name" = String, Path, description = "SHA-256 of the sealed bytes, hex"), ("part" = u32, Path, description = "The part, from 0")),
    responses((status = 204, description = "Stored"), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn put_part(
    State(service): State<Service>,
    caller: Caller,
    Path((name, part)): Path<(String, u32)>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<StatusCode, ApiError> {
    check_blob_name(&name)?;
    if part >= PARTS_MAX {
        return Err(ApiError::invalid(format!("a blob has at most {PARTS_MAX} parts (0 to {})", PARTS_MAX - 1)));
    }
    let length = declared_length(&headers)?;
    let admitted = async {
        let usage = current_usage(&service, &caller.account).await?;
        let received: u64 = service
            .blobs
            .parts(&caller.account, &name)
            .await
            .map_err(store_error)?
            .iter()
            .filter(|(number, _)| *number != part)
            .map(|(_, size)| size)
            .sum();
        usage.allow(received + length as u64, 0)
    };
    if let Err(error) = admitted.await {
        return Err(drained(body, length, error).await);
    }
    let bytes = read_body(body, length).await?;
    service.blobs.put_part(&caller.account, &name, part, bytes).await.map_err(store_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/blobs/{name}/parts`: the parts received so far (to resume an upload).
#[utoipa::path(
    get,
    path = "/v1/blobs/{name}/parts",
    tag = "sync",
    params(("name" = String, Path, description = "SHA-256 of the sealed bytes, hex")),
    responses((status = 200, description = "The parts received", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn list_parts(
    State(service): State<Service>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_blob_name(&name)?;
    let parts = service.blobs.parts(&caller.account, &name).await.map_err(store_error)?;
    let parts: Vec<Value> = parts.into_iter().map(|(part, size)| json!({"part": part, "size": size})).collect();
    Ok(Json(json!({"name": name, "parts": parts})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct Complete {
    /// How many parts the blob has (0 to parts − 1 must all be there).
    parts: u32,
}

/// `POST /v1/blobs/{name}/complete`: joins the parts into the blob, if they hash to its name.
#[utoipa::path(
    post,
    path = "/v1/blobs/{name}/complete",
    tag = "sync",
    request_body = Complete,
    params(("name" = String, Path, description = "SHA-256 of the sealed bytes, hex")),
    responses((status = 200, description = "Already stored", body = Object), (status = 201, description = "Joined and stored", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn complete(
    State(service): State<Service>,
    caller: Caller,
    Path(name): Path<String>,
    Body(request): Body<Complete>,
) -> Result<Response, ApiError> {
    check_blob_name(&name)?;
    let usage = current_usage(&service, &caller.account).await?;
    if let Some(size) = blob_exists(&service, &caller.account, &name).await? {
        service.blobs.delete_parts(&caller.account, &name).await.map_err(store_error)?;
        return Ok(blob_answer(StatusCode::OK, &name, size));
    }
    // Parts past the count (from an upload begun with another part size) are not the blob's.
    let parts: Vec<(u32, u64)> = service
        .blobs
        .parts(&caller.account, &name)
        .await
        .map_err(store_error)?
        .into_iter()
        .filter(|(number, _)| *number < request.parts)
        .collect();
    let numbers: Vec<u32> = parts.iter().map(|(number, _)| *number).collect();
    if request.parts == 0 || numbers != (0..request.parts).collect::<Vec<_>>() {
        let missing: Vec<String> =
            (0..request.parts).filter(|number| !numbers.contains(number)).map(|number| number.to_string()).collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "incomplete_upload",
            format!(
                "the server has parts [{}] of {} (missing: [{}]): upload the missing ones, then complete again",
                numbers.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
                request.parts,
                missing.join(", ")
            ),
        ));
    }
    let size: u64 = parts.iter().map(|(_, size)| size).sum();
    usage.allow(size, 0)?;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    service
        .blobs
        .read_parts(&caller.account, &name, request.parts, |piece| {
            if head.len() < SEALED_MIN {
                head.extend_from_slice(&piece[..piece.len().min(SEALED_MIN - head.len())]);
            }
            hasher.update(piece);
        })
        .await
        .map_err(store_error)?;
    if hex(&hasher.finalize()) != name || check_sealed(&head, "the blob").is_err() {
        service.blobs.delete_parts(&caller.account, &name).await.map_err(store_error)?;
        return Err(ApiError::invalid(
            "the parts are not a sealed blob that hashes to its name; they were dropped: upload them again",
        )
        .with_code("hash_mismatch"));
    }
    service.blobs.join_parts(&caller.account, &name, request.parts).await.map_err(store_error)?;
    remember_blob(&service, &caller.account, &name, size).await?;
    Ok(blob_answer(StatusCode::CREATED, &name, size as i64))
}

/// `GET /v1/blobs/{name}`: a blob's sealed bytes.
#[utoipa::path(
    get,
    path = "/v1/blobs/{name}",
    tag = "sync",
    params(("name" = String, Path, description = "SHA-256 of the sealed bytes, hex")),
    responses((status = 200, description = "The sealed bytes", body = Binary, content_type = "application/octet-stream"), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn get_blob(
    State(service): State<Service>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    check_blob_name(&name)?;
    if blob_exists(&service, &caller.account, &name).await?.is_none() {
        return Err(ApiError::not_found("blob"));
    }
    let bytes = service.blobs.get(&caller.account, &name).await.map_err(store_error)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RecordPut {
    /// The device the generation was made on.
    device_id: String,
    /// The sealed record, base64.
    sealed: String,
    /// The blobs it refers to (uploaded first).
    #[serde(default)]
    blobs: Vec<String>,
}

/// Takes the account's next change number; it also takes the write lock first, so that the
/// transaction's later reads cannot be overtaken by another writer.
async fn next_seq(transaction: &mut sqlx::Transaction<'_, sqlx::Any>, account: &str) -> Result<i64, ApiError> {
    let (seq,): (i64,) =
        sqlx::query_as("UPDATE accounts SET change_seq = change_seq + 1 WHERE id = $1 RETURNING change_seq")
            .bind(account)
            .fetch_one(&mut **transaction)
            .await?;
    Ok(seq)
}

/// Drops the rows of blobs no live record refers to any more, among `names`, and answers them.
async fn unreferenced(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: &str,
    names: &[String],
) -> Result<Vec<String>, ApiError> {
    let mut gone = Vec::new();
    for name in names {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM record_blobs WHERE account_id = $1 AND blob_name = $2")
                .bind(account)
                .bind(name)
                .fetch_one(&mut **transaction)
                .await?;
        if count == 0 {
            sqlx::query("DELETE FROM blobs WHERE account_id = $1 AND name = $2")
                .bind(account)
                .bind(name)
                .execute(&mut **transaction)
                .await?;
            gone.push(name.clone());
        }
    }
    Ok(gone)
}

/// Removes the bytes of blobs whose rows are gone (after the transaction that dropped them).
async fn delete_blobs(service: &Service, account: &str, names: &[String]) {
    for name in names {
        if let Err(error) = service.blobs.delete(account, name).await {
            // The row is gone, so nothing refers to the bytes; deleting the account sweeps them.
            tracing::error!(%error, account, blob = %name, "could not delete a blob's bytes");
        }
    }
}

fn split_blobs(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// `PUT /v1/records/{id}`: a generation's sealed record, new or changed; its blobs must be
/// uploaded first. A deleted generation cannot come back under its id.
#[utoipa::path(
    put,
    path = "/v1/records/{id}",
    tag = "sync",
    request_body = RecordPut,
    params(("id" = String, Path, description = "The generation")),
    responses((status = 200, description = "Stored, with its change number", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn put_record(
    State(service): State<Service>,
    caller: Caller,
    Path(id): Path<String>,
    Body(request): Body<RecordPut>,
) -> Result<Json<Value>, ApiError> {
    check_id(&id, "a record's id")?;
    check_id(&request.device_id, "device_id")?;
    let sealed = unbase64(&request.sealed, "sealed")?;
    if sealed.len() > RECORD_MAX {
        return Err(ApiError::invalid(format!("a sealed record is at most {RECORD_MAX} bytes")));
    }
    check_sealed(&sealed, "the record")?;
    let names: BTreeSet<String> = request.blobs.iter().cloned().collect();
    if names.len() > RECORD_BLOBS_MAX {
        return Err(ApiError::invalid(format!("a record refers to at most {RECORD_BLOBS_MAX} blobs")));
    }
    for name in &names {
        check_blob_name(name)?;
    }
    let account = caller.account.as_str();
    let mut transaction = service.database.begin().await?;
    let seq = next_seq(&mut transaction, account).await?;
    let existing: Option<(Option<i64>, i64, String)> =
        sqlx::query_as("SELECT deleted_at, size, blobs FROM records WHERE account_id = $1 AND id = $2")
            .bind(account)
            .bind(&id)
            .fetch_optional(&mut *transaction)
            .await?;
    if let Some((Some(_), _, _)) = existing {
        return Err(ApiError::new(
            StatusCode::GONE,
            "record_deleted",
            "this generation was deleted (on this or another device); it is not uploaded again",
        ));
    }
    for name in &names {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM blobs WHERE account_id = $1 AND name = $2")
            .bind(account)
            .bind(name)
            .fetch_one(&mut *transaction)
            .await?;
        if count == 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "missing_blob",
                format!("blob {name} is not on the server: upload the record's blobs before the record"),
            ));
        }
    }
    let used = usage(&service, &mut transaction, account, Purpose::Upload).await?;
    let old_size = existing.as_ref().map_or(0, |(_, size, _)| *size as u64);
    let growth = (sealed.len() as u64).saturating_sub(old_size);
    used.allow(growth, u64::from(existing.is_none()))?;
    let at = now();
    let blob_text = names.iter().cloned().collect::<Vec<_>>().join(" ");
    sqlx::query(
        "INSERT INTO records (account_id, id, seq, device_id, sealed, blobs, size, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (account_id, id) DO UPDATE SET seq = $3, \
         device_id = $4, sealed = $5, blobs = $6, size = $7, updated_at = $8",
    )
    .bind(account)
    .bind(&id)
    .bind(seq)
    .bind(&request.device_id)
    .bind(&sealed)
    .bind(&blob_text)
    .bind(sealed.len() as i64)
    .bind(at)
    .execute(&mut *transaction)
    .await?;
    sqlx::query("DELETE FROM record_blobs WHERE account_id = $1 AND record_id = $2")
        .bind(account)
        .bind(&id)
        .execute(&mut *transaction)
        .await?;
    for name in &names {
        sqlx::query("INSERT INTO record_blobs (account_id, record_id, blob_name) VALUES ($1, $2, $3)")
            .bind(account)
            .bind(&id)
            .bind(name)
            .execute(&mut *transaction)
            .await?;
    }
    let dropped: Vec<String> = existing.map(|(_, _, blobs)| split_blobs(&blobs)).unwrap_or_default();
    let dropped: Vec<String> = dropped.into_iter().filter(|name| !names.contains(name)).collect();
    let gone = unreferenced(&mut transaction, account, &dropped).await?;
    transaction.commit().await?;
    delete_blobs(&service, account, &gone).await;
    Ok(Json(json!({"id": id, "seq": seq})))
}

fn record_json(row: RecordRow) -> Value {
    let (id, seq, device_id, sealed, blobs, size, updated_at, deleted_at) = row;
    let deleted = deleted_at.is_some();
    json!({
        "id": id, "seq": seq, "device_id": device_id, "size": size, "updated_at": updated_at,
        "deleted": deleted, "sealed": if deleted { Value::Null } else { Value::String(base64(&sealed)) },
        "blobs": split_blobs(&blobs),
    })
}

/// A record's columns as the changes list and `GET /v1/records/{id}` read them.
type RecordRow = (String, i64, String, Vec<u8>, String, i64, i64, Option<i64>);

/// `GET /v1/records/{id}`: one generation's sealed record (a deleted one is not found).
#[utoipa::path(
    get,
    path = "/v1/records/{id}",
    tag = "sync",
    params(("id" = String, Path, description = "The generation")),
    responses((status = 200, description = "The sealed record", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn get_record(
    State(service): State<Service>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row: Option<RecordRow> = sqlx::query_as(
        "SELECT id, seq, device_id, sealed, blobs, size, updated_at, deleted_at FROM records \
         WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(&caller.account)
    .bind(&id)
    .fetch_optional(&service.database)
    .await?;
    Ok(Json(record_json(row.ok_or_else(|| ApiError::not_found("generation"))?)))
}

/// Turns the account's live record `id` into a tombstone; answers the blobs that went with it.
async fn tombstone(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: &str,
    id: &str,
    blobs: &str,
) -> Result<Vec<String>, ApiError> {
    let seq = next_seq(transaction, account).await?;
    sqlx::query(
        "UPDATE records SET seq = $1, sealed = $2, blobs = '', size = 0, deleted_at = $3, updated_at = $3 \
         WHERE account_id = $4 AND id = $5",
    )
    .bind(seq)
    .bind(Vec::<u8>::new())
    .bind(now())
    .bind(account)
    .bind(id)
    .execute(&mut **transaction)
    .await?;
    sqlx::query("DELETE FROM record_blobs WHERE account_id = $1 AND record_id = $2")
        .bind(account)
        .bind(id)
        .execute(&mut **transaction)
        .await?;
    unreferenced(transaction, account, &split_blobs(blobs)).await
}

/// `DELETE /v1/records/{id}`: delete a generation and the blobs only it used, on every device.
#[utoipa::path(
    delete,
    path = "/v1/records/{id}",
    tag = "sync",
    params(("id" = String, Path, description = "The generation")),
    responses((status = 204, description = "Deleted on every device"), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn delete_record(
    State(service): State<Service>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let account = caller.account.as_str();
    let mut transaction = service.database.begin().await?;
    // The lock first (see next_seq); this number is spent whether or not the record exists.
    next_seq(&mut transaction, account).await?;
    let row: Option<(String,)> =
        sqlx::query_as("SELECT blobs FROM records WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(account)
            .bind(&id)
            .fetch_optional(&mut *transaction)
            .await?;
    let (blobs,) = row.ok_or_else(|| ApiError::not_found("generation"))?;
    let gone = tombstone(&mut transaction, account, &id, &blobs).await?;
    transaction.commit().await?;
    delete_blobs(&service, account, &gone).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/records`: delete the whole synced history, on every device.
#[utoipa::path(
    delete,
    path = "/v1/records",
    tag = "sync",
    responses((status = 200, description = "How many were deleted", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn delete_all_records(
    State(service): State<Service>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let account = caller.account.as_str();
    let mut transaction = service.database.begin().await?;
    next_seq(&mut transaction, account).await?;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, blobs FROM records WHERE account_id = $1 AND deleted_at IS NULL ORDER BY seq")
            .bind(account)
            .fetch_all(&mut *transaction)
            .await?;
    let mut gone = Vec::new();
    for (id, blobs) in &rows {
        gone.extend(tombstone(&mut transaction, account, id, blobs).await?);
    }
    // Blobs uploaded but never given a record go too.
    let loose: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM blobs b WHERE account_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM record_blobs r WHERE r.account_id = b.account_id AND r.blob_name = b.name)",
    )
    .bind(account)
    .fetch_all(&mut *transaction)
    .await?;
    let loose: Vec<String> = loose.into_iter().map(|(name,)| name).collect();
    gone.extend(unreferenced(&mut transaction, account, &loose).await?);
    transaction.commit().await?;
    delete_blobs(&service, account, &gone).await;
    Ok(Json(json!({"deleted": rows.len()})))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ChangesQuery {
    #[serde(default)]
    since: i64,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /v1/changes?since=CURSOR&limit=N`: records and tombstones changed after the cursor, in
/// order; `cursor` in the answer is where the next page starts. `since=0` lists everything the
/// server has. A cursor older than the deletions the server still keeps is refused with
/// `cursor_expired`: the device then reconciles fully from 0, and treats every generation it had
/// synced that the full list lacks as deleted.
#[utoipa::path(
    get,
    path = "/v1/changes",
    tag = "sync",
    params(ChangesQuery),
    responses((status = 200, description = "Records and tombstones after the cursor", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn changes(
    State(service): State<Service>,
    caller: Caller,
    Query(query): Query<ChangesQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.unwrap_or(PAGE_MAX).clamp(1, PAGE_MAX);
    let (purged,): (i64,) = sqlx::query_as("SELECT purged_seq FROM accounts WHERE id = $1")
        .bind(&caller.account)
        .fetch_one(&service.database)
        .await?;
    if query.since > 0 && query.since < purged {
        return Err(ApiError::new(
            StatusCode::GONE,
            "cursor_expired",
            "this cursor is older than the deletions the server keeps: reconcile fully by listing from since=0",
        ));
    }
    let rows: Vec<RecordRow> = sqlx::query_as(
        "SELECT id, seq, device_id, sealed, blobs, size, updated_at, deleted_at FROM records \
         WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(&caller.account)
    .bind(query.since.max(0))
    .bind(limit + 1)
    .fetch_all(&service.database)
    .await?;
    let more = rows.len() as i64 > limit;
    let page: Vec<RecordRow> = rows.into_iter().take(limit as usize).collect();
    let cursor = page.last().map_or(query.since.max(0), |row| row.1);
    let changes: Vec<Value> = page.into_iter().map(record_json).collect();
    Ok(Json(json!({"changes": changes, "cursor": cursor, "more": more})))
}

/// Forgets tombstones older than the configured time, remembering the last change number
/// forgotten so that older cursors are refused.
pub(crate) async fn purge_tombstones(service: &Service) -> Result<u64, sqlx::Error> {
    let cutoff = now() - service.settings.sync.tombstone_seconds;
    let mut transaction = service.database.begin().await?;
    sqlx::query(
        "UPDATE accounts SET purged_seq = (SELECT MAX(seq) FROM records r WHERE r.account_id = accounts.id \
         AND r.deleted_at IS NOT NULL AND r.deleted_at < $1) WHERE EXISTS (SELECT 1 FROM records r \
         WHERE r.account_id = accounts.id AND r.deleted_at IS NOT NULL AND r.deleted_at < $1)",
    )
    .bind(cutoff)
    .execute(&mut *transaction)
    .await?;
    let purged = sqlx::query("DELETE FROM records WHERE deleted_at IS NOT NULL AND deleted_at < $1")
        .bind(cutoff)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(purged.rows_affected())
}
