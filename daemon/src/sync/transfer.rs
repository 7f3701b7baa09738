//! One generation to or from the account: blobs sealed with the data key (`docs/crypto.md`) and
//! named by the SHA-256 of their ciphertext, then the sealed record that names them.
//!
//! A blob's salt is derived from the data key and its plaintext, so the same file seals to the
//! same bytes every time: an upload cut off by a dropped connection or a killed daemon is simply
//! made again, and what the service already holds is not sent twice (and never stored twice).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use threedgpt_crypto::{self as crypto, Key};

use super::SyncError;
use crate::account::{Accounts, CloudError, Session};
use crate::history::{Artifact, Generation, HistoryStore, Pulled};

/// The most bytes of blob one request carries (the service's limit); bigger blobs go in parts.
const PART_BYTES: usize = 8 << 20;
/// The largest blob a download accepts (the service keeps at most 1,024 parts).
const BLOB_LIMIT: u64 = 1024 * PART_BYTES as u64;
/// What a record's plaintext says it is.
const RECORD_FORMAT: u32 = 1;

/// One of a record's blobs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct BlobRef {
    /// Its name at the service.
    name: String,
    /// Its plaintext size.
    size: u64,
}

/// What a synced record holds, sealed: everything the history keeps of a generation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Record {
    format: u32,
    id: String,
    created_ms: i64,
    source: String,
    record_json: String,
    device_name: String,
    input: BlobRef,
    asset: BlobRef,
    thumbnail: BlobRef,
}

/// Seals `plaintext` the same way every time under one key (see the module's note).
pub(crate) fn seal_blob(key: &Key, plaintext: &[u8]) -> Vec<u8> {
    let salt_key = blake3::derive_key("3dgpt v1 sync blob salt", key.as_bytes());
    let digest = blake3::keyed_hash(&salt_key, plaintext);
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&digest.as_bytes()[..16]);
    crypto::seal_with_salt(key, plaintext, salt)
}

/// The last part of a path, with either separator.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// How an upload ended.
pub(crate) enum Uploaded {
    /// The account holds it now, as change `seq`, its files under these names (JSON).
    Stored(i64, String),
    /// The account deleted it (on another device) before this one sent it.
    DeletedThere,
}

/// Uploads one generation: its blobs (each at most once), then its record.
pub(crate) fn upload(
    accounts: &Accounts,
    session: &Session,
    store: &HistoryStore,
    generation: &Generation,
) -> Result<Uploaded, SyncError> {
    let key = &session.data_key;
    let mut refs = Vec::new();
    for artifact in [Artifact::Input, Artifact::Asset, Artifact::Thumbnail] {
        let plaintext = store.read(generation, artifact)?;
        let sealed = seal_blob(key, &plaintext);
        let name = crypto::blob_name(&sealed);
        put_blob(accounts, session, &name, &sealed)?;
        refs.push(BlobRef { name, size: plaintext.len() as u64 });
    }
    let [input, asset, thumbnail]: [BlobRef; 3] = refs.try_into().map_err(|_| SyncError::Bug("three blobs"))?;
    let names = vec![input.name.clone(), asset.name.clone(), thumbnail.name.clone()];
    let refs = refs_json(&input, &asset, &thumbnail);
    let device_name =
        if generation.device.is_empty() { session.remembered.device_name.clone() } else { generation.device.clone() };
    let record = Record {
        format: RECORD_FORMAT,
        id: generation.id.clone(),
        created_ms: generation.created_ms,
        // Other devices get the picture's name, not where it lay on this one.
        source: file_name(&generation.source).to_owned(),
        record_json: generation.record_json.clone(),
        device_name,
        input,
        asset,
        thumbnail,
    };
    let plaintext = serde_json::to_vec(&record).unwrap_or_default();
    let sealed = crypto::seal(key, &plaintext).map_err(|error| SyncError::Crypto(error.to_string()))?;
    let body = json!({
        "device_id": session.remembered.device_id,
        "sealed": STANDARD.encode(&sealed),
        "blobs": names,
    });
    let path = format!("/v1/records/{}", generation.id);
    match accounts.call(&session.cloud, |token| session.cloud.put(&path, &body, Some(token))) {
        Ok(answer) => Ok(Uploaded::Stored(answer.get("seq").and_then(Value::as_i64).unwrap_or(0), refs)),
        Err(crate::account::AccountError::Cloud(CloudError::Refused { status: 410, .. })) => Ok(Uploaded::DeletedThere),
        Err(error) => Err(error.into()),
    }
}

/// Sends a sealed blob, whole or in parts; parts the service already has are not sent again.
fn put_blob(accounts: &Accounts, session: &Session, name: &str, sealed: &[u8]) -> Result<(), SyncError> {
    let cloud = &session.cloud;
    if sealed.len() <= PART_BYTES {
        let path = format!("/v1/blobs/{name}");
        accounts.call(cloud, |token| cloud.put_bytes(&path, sealed, Some(token)))?;
        return Ok(());
    }
    let listed = accounts.call(cloud, |token| cloud.get(&format!("/v1/blobs/{name}/parts"), Some(token)))?;
    let have: Vec<(u64, u64)> = listed
        .get("parts")
        .and_then(Value::as_array)
        .map(|parts| {
            parts.iter().filter_map(|part| Some((part.get("part")?.as_u64()?, part.get("size")?.as_u64()?))).collect()
        })
        .unwrap_or_default();
    let pieces: Vec<&[u8]> = sealed.chunks(PART_BYTES).collect();
    for (number, piece) in pieces.iter().enumerate() {
        if have.contains(&(number as u64, piece.len() as u64)) {
            continue;
        }
        let path = format!("/v1/blobs/{name}/parts/{number}");
        accounts.call(cloud, |token| cloud.put_bytes(&path, piece, Some(token)))?;
    }
    let path = format!("/v1/blobs/{name}/complete");
    accounts.call(cloud, |token| cloud.post(&path, &json!({"parts": pieces.len()}), Some(token)))?;
    Ok(())
}

/// Brings one record from the changes list to this device: its blobs are fetched, opened and
/// checked, then stored with the record. `false` when it was already here.
pub(crate) fn download(
    accounts: &Accounts,
    session: &Session,
    store: &HistoryStore,
    change: &Value,
) -> Result<bool, SyncError> {
    let id = change.get("id").and_then(Value::as_str).unwrap_or_default();
    let seq = change.get("seq").and_then(Value::as_i64).unwrap_or(0);
    let sealed = change
        .get("sealed")
        .and_then(Value::as_str)
        .and_then(|text| STANDARD.decode(text).ok())
        .ok_or_else(|| SyncError::Damaged(format!("the account's record {id} came without its sealed bytes")))?;
    let plaintext = crypto::open(&session.data_key, &sealed).map_err(|_| {
        SyncError::Damaged(format!("the account's record {id} does not open with this account's data key"))
    })?;
    let record: Record = serde_json::from_slice(&plaintext).map_err(|error| {
        SyncError::Damaged(format!("the account's record {id} is not one this version reads: {error}"))
    })?;
    if record.format != RECORD_FORMAT || record.id != id {
        return Err(SyncError::Damaged(format!("the account's record {id} is of another format or names another id")));
    }
    let fetch = |blob: &BlobRef| fetch_blob(accounts, session, blob, id);
    let (input, asset, thumbnail) = (fetch(&record.input)?, fetch(&record.asset)?, fetch(&record.thumbnail)?);
    let device = if record.device_name.is_empty() { "another device".to_owned() } else { record.device_name.clone() };
    Ok(store.insert_pulled(
        &Pulled {
            id,
            created_ms: record.created_ms,
            source: &record.source,
            record_json: &record.record_json,
            device: &device,
            input: &input,
            asset_glb: &asset,
            thumbnail_png: &thumbnail,
        },
        seq,
        &refs_json(&record.input, &record.asset, &record.thumbnail),
    )?)
}

fn refs_json(input: &BlobRef, asset: &BlobRef, thumbnail: &BlobRef) -> String {
    serde_json::to_string(&[input, asset, thumbnail]).unwrap_or_default()
}

/// One blob from the account, checked against its name and opened.
fn fetch_blob(accounts: &Accounts, session: &Session, blob: &BlobRef, id: &str) -> Result<Vec<u8>, SyncError> {
    let path = format!("/v1/blobs/{}", blob.name);
    let cloud = &session.cloud;
    let sealed = accounts.call(cloud, |token| cloud.get_bytes(&path, Some(token), BLOB_LIMIT))?;
    if crypto::blob_name(&sealed) != blob.name {
        return Err(SyncError::Damaged(format!("blob {} of record {id} does not hash to its name", blob.name)));
    }
    let opened = crypto::open(&session.data_key, &sealed)
        .map_err(|_| SyncError::Damaged(format!("blob {} of record {id} does not open", blob.name)))?;
    if opened.len() as u64 != blob.size {
        return Err(SyncError::Damaged(format!("blob {} of record {id} is not the size its record says", blob.name)));
    }
    Ok(opened)
}

/// Downloads again the files of a generation removed from this device only.
pub(crate) fn restore(
    accounts: &Accounts,
    session: &Session,
    store: &HistoryStore,
    id: &str,
) -> Result<Option<Generation>, SyncError> {
    let refs = store.remote_blobs(id)?.ok_or_else(|| {
        SyncError::Damaged(format!("{id} is not on this device and the account's names for it are lost"))
    })?;
    let refs: [BlobRef; 3] = serde_json::from_str(&refs)
        .map_err(|error| SyncError::Damaged(format!("the account's names for {id} are unreadable: {error}")))?;
    let [input, asset, thumbnail] = refs.each_ref().map(|blob| fetch_blob(accounts, session, blob, id));
    Ok(store.restore(id, &input?, &asset?, &thumbnail?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_pictures_name_leaves_the_device() {
        assert_eq!(file_name("/home/ada/photos/duck.png"), "duck.png");
        assert_eq!(file_name("C:\\Users\\ada\\duck.png"), "duck.png");
        assert_eq!(file_name("duck.png"), "duck.png");
    }

    #[test]
    fn a_file_seals_to_the_same_bytes_every_time_and_opens() {
        let key = Key([7u8; 32]);
        let plaintext = vec![42u8; 3 << 20];
        let first = seal_blob(&key, &plaintext);
        assert_eq!(first, seal_blob(&key, &plaintext));
        assert_eq!(crypto::open(&key, &first).unwrap(), plaintext);
        // Another file, or another key, seals with another salt.
        assert_ne!(first[4..20], seal_blob(&key, b"other")[4..20]);
        assert_ne!(first[4..20], seal_blob(&Key([8u8; 32]), &plaintext)[4..20]);
    }
}
