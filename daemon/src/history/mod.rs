//! The local history: generation records in SQLite (WAL) and their files — input image, GLB,
//! thumbnail — as content-addressed blobs, each encrypted under the user's data key. Blobs are
//! written (temporary file, rename) before the row that refers to them, and blobs no row refers
//! to are swept at open, so a daemon killed at any moment leaves a consistent store.

mod crypto;
pub(crate) mod key;
mod rekey;
mod synced;

pub(crate) use synced::{Outgoing, Pulled, SyncMark};

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use rusqlite::{Connection, OptionalExtension, params};

use crypto::DataKey;
use key::{KeyError, KeySource};

/// What can go wrong with the history.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the history was encrypted with a key this daemon no longer has ({}); its files cannot be read. Restore the key, or run `3dgpt history clear` to start afresh", .0)]
    KeyMismatch(String),
    #[error("the history database failed: {0}; if this persists, move {1} aside and restart the daemon")]
    Database(rusqlite::Error, String),
    #[error("could not access {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the stored file {0} is damaged or was altered and cannot be decrypted")]
    Damaged(String),
    #[error("{0}'s files are not on this device (it was removed from this device only); sign in to download it again")]
    NotHere(String),
}

/// A generation's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Artifact {
    Input,
    Asset,
    Thumbnail,
}

/// A stored generation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Generation {
    pub(crate) id: String,
    pub(crate) created_ms: i64,
    pub(crate) source: String,
    pub(crate) record_json: String,
    /// The device it was made on when another one (synced from the account); empty for this one.
    pub(crate) device: String,
    input_blob: String,
    asset_blob: String,
    thumbnail_blob: String,
}

impl Generation {
    /// Whether its files are on this device (not removed with `--this-device`).
    pub(crate) fn is_here(&self) -> bool {
        !self.asset_blob.is_empty()
    }
}

/// What to store for a new generation.
pub(crate) struct NewGeneration<'a> {
    pub(crate) source: &'a str,
    pub(crate) record_json: &'a str,
    pub(crate) input: &'a [u8],
    pub(crate) asset_glb: &'a [u8],
    pub(crate) thumbnail_png: &'a [u8],
}

/// The history store.
pub(crate) struct HistoryStore {
    connection: Mutex<Connection>,
    /// Held shared while a generation is stored (blobs written, then its row) and exclusively while
    /// unreferenced blobs are swept, so a sweep never takes the blobs of a row about to be written.
    storing: RwLock<()>,
    folder: PathBuf,
    blobs: PathBuf,
    /// Replaced only by `rekey`, which holds `storing` exclusively while it works.
    key: RwLock<DataKey>,
    key_description: String,
    /// New generations stay on this device (signed in with sync off): never uploaded, even later.
    keep_local: AtomicBool,
}

impl std::fmt::Debug for HistoryStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("HistoryStore").field("folder", &self.folder).finish_non_exhaustive()
    }
}

impl HistoryStore {
    /// Opens (creating if needed) the store in `folder` with the key from `key_source`.
    pub(crate) fn open(folder: &Path, key_source: &dyn KeySource) -> Result<HistoryStore, StoreError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        crate::private::create_dir_all(folder).map_err(io(folder))?;
        let blobs = folder.join("blobs");
        crate::private::create_dir_all(&blobs).map_err(io(&blobs))?;
        let database = folder.join("history.db");
        let db_error = |error| StoreError::Database(error, database.display().to_string());
        let connection = Connection::open(&database).map_err(db_error)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA secure_delete = ON;
                 CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS generations (
                     id TEXT PRIMARY KEY,
                     created_ms INTEGER NOT NULL,
                     source TEXT NOT NULL,
                     record_json TEXT NOT NULL,
                     input_blob TEXT NOT NULL,
                     asset_blob TEXT NOT NULL,
                     thumbnail_blob TEXT NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS generations_by_time ON generations (created_ms DESC, id DESC);",
            )
            .map_err(db_error)?;
        synced::migrate(&connection).map_err(db_error)?;
        let stored_check: Option<String> = connection
            .query_row("SELECT value FROM meta WHERE name = 'key_check'", [], |row| row.get(0))
            .optional()
            .map_err(db_error)?;
        let (key, _created) = key_source.load_or_create(stored_check.as_deref())?;
        // A change of key that a crash interrupted is finished (or forgotten) first.
        let key = rekey::settle(key_source, key, stored_check.as_deref())?;
        match stored_check {
            Some(check) if check != key.check_value() => {
                return Err(StoreError::KeyMismatch(key_source.describe()));
            }
            Some(_) => {}
            None => {
                connection
                    .execute("INSERT INTO meta (name, value) VALUES ('key_check', ?1)", params![key.check_value()])
                    .map_err(db_error)?;
            }
        }
        let store = HistoryStore {
            connection: Mutex::new(connection),
            storing: RwLock::new(()),
            folder: folder.to_path_buf(),
            blobs,
            key: RwLock::new(key),
            key_description: key_source.describe(),
            keep_local: AtomicBool::new(false),
        };
        store.sweep()?;
        Ok(store)
    }

    /// The history's data key, which a new account adopts (so what is kept stays readable).
    pub(crate) fn key_bytes(&self) -> [u8; 32] {
        *self.key().bytes()
    }

    fn key(&self) -> DataKey {
        self.key.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Where the store lives.
    pub(crate) fn folder(&self) -> &Path {
        &self.folder
    }

    /// Where the key comes from, for logs.
    pub(crate) fn key_description(&self) -> &str {
        &self.key_description
    }

    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn db_error(&self, error: rusqlite::Error) -> StoreError {
        StoreError::Database(error, self.folder.join("history.db").display().to_string())
    }

    /// Stores a generation: blobs first, then the row.
    pub(crate) fn add(&self, new: &NewGeneration<'_>) -> Result<Generation, StoreError> {
        let _storing = self.storing.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Each blob is sealed, written and flushed to disk on its own thread: three fsyncs at once.
        let [input_blob, asset_blob, thumbnail_blob] = std::thread::scope(|scope| {
            [new.input, new.asset_glb, new.thumbnail_png]
                .map(|plaintext| scope.spawn(move || self.put_blob(plaintext)))
                .map(|writer| writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        let (input_blob, asset_blob, thumbnail_blob) = (input_blob?, asset_blob?, thumbnail_blob?);
        let created_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as i64);
        let id = format!("gen-{created_ms:013}-{:08x}", OsRng.next_u32());
        let generation = Generation {
            id,
            created_ms,
            source: new.source.to_owned(),
            record_json: new.record_json.to_owned(),
            device: String::new(),
            input_blob,
            asset_blob,
            thumbnail_blob,
        };
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|error| self.db_error(error))?;
        insert_row(&transaction, &generation).map_err(|error| self.db_error(error))?;
        if self.keep_local.load(Ordering::Relaxed) {
            synced::mark(&transaction, &generation.id, SyncMark::Local, 0).map_err(|error| self.db_error(error))?;
        }
        transaction.commit().map_err(|error| self.db_error(error))?;
        Ok(generation)
    }

    /// A page of generations, newest first, and the total count.
    pub(crate) fn list(&self, offset: usize, limit: usize) -> Result<(Vec<Generation>, usize), StoreError> {
        let connection = self.connection();
        let total: i64 = connection
            .query_row("SELECT COUNT(*) FROM generations", [], |row| row.get(0))
            .map_err(|error| self.db_error(error))?;
        let mut statement = connection
            .prepare(
                "SELECT id, created_ms, source, record_json, input_blob, asset_blob, thumbnail_blob, device
                 FROM generations ORDER BY created_ms DESC, id DESC LIMIT ?1 OFFSET ?2",
            )
            .map_err(|error| self.db_error(error))?;
        let rows = statement
            .query_map(params![limit as i64, offset as i64], row_to_generation)
            .map_err(|error| self.db_error(error))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| self.db_error(error))?;
        Ok((rows, total as usize))
    }

    /// One generation.
    pub(crate) fn get(&self, id: &str) -> Result<Option<Generation>, StoreError> {
        self.connection()
            .query_row(
                "SELECT id, created_ms, source, record_json, input_blob, asset_blob, thumbnail_blob, device
                 FROM generations WHERE id = ?1",
                params![id],
                row_to_generation,
            )
            .optional()
            .map_err(|error| self.db_error(error))
    }

    /// The decrypted bytes of one of a generation's files.
    pub(crate) fn read(&self, generation: &Generation, artifact: Artifact) -> Result<Vec<u8>, StoreError> {
        let _reading = self.storing.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.read_with(&self.key(), generation, artifact)
    }

    /// [`HistoryStore::read`] under a given key, without the lock (`rekey` holds it).
    fn read_with(&self, key: &DataKey, generation: &Generation, artifact: Artifact) -> Result<Vec<u8>, StoreError> {
        if !generation.is_here() {
            return Err(StoreError::NotHere(generation.id.clone()));
        }
        let name = self.blob_name(generation, artifact);
        let path = self.blob_path(name);
        let sealed = fs::read(&path).map_err(|source| StoreError::Io { path, source })?;
        key.open_owned(name, sealed).ok_or_else(|| StoreError::Damaged(name.clone()))
    }

    /// Decrypts one of a generation's files chunk by chunk into `sink` (which returns `false` to stop),
    /// after reporting the plaintext size to `size`.
    pub(crate) fn read_chunks(
        &self,
        generation: &Generation,
        artifact: Artifact,
        size: impl FnOnce(u64),
        sink: impl FnMut(Vec<u8>) -> bool,
    ) -> Result<(), StoreError> {
        if !generation.is_here() {
            return Err(StoreError::NotHere(generation.id.clone()));
        }
        // Held while the file streams, so the key cannot change under it.
        let _reading = self.storing.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let name = self.blob_name(generation, artifact);
        let path = self.blob_path(name);
        let io = |source| StoreError::Io { path: path.clone(), source };
        let file = fs::File::open(&path).map_err(io)?;
        let length = file.metadata().map_err(io)?.len();
        size(DataKey::plaintext_size(length));
        let mut reader = std::io::BufReader::with_capacity(crypto::CHUNK_BYTES + 64, file);
        self.key()
            .open_stream(name, &mut reader, length, crypto::CHUNK_BYTES, sink)
            .map(|_| ())
            .ok_or_else(|| StoreError::Damaged(name.clone()))
    }

    fn blob_name<'a>(&self, generation: &'a Generation, artifact: Artifact) -> &'a String {
        match artifact {
            Artifact::Input => &generation.input_blob,
            Artifact::Asset => &generation.asset_blob,
            Artifact::Thumbnail => &generation.thumbnail_blob,
        }
    }

    /// Deletes a generation and every file only it used. `false` when there was none. With
    /// `everywhere` (signed in), a generation the account holds is queued for deletion there too.
    pub(crate) fn delete(&self, id: &str, everywhere: bool) -> Result<bool, StoreError> {
        let removed = self.forget(|transaction| {
            if everywhere {
                synced::queue_delete_if_synced(transaction, id)?;
            }
            transaction.execute("DELETE FROM sync_state WHERE id = ?1", params![id])?;
            transaction.execute("DELETE FROM generations WHERE id = ?1", params![id])
        })?;
        if removed > 0 {
            self.sweep()?;
        }
        Ok(removed > 0)
    }

    /// Deletes every generation and file. Returns how many generations there were. With
    /// `everywhere`, the account's whole synced history is queued for deletion too.
    pub(crate) fn delete_all(&self, everywhere: bool) -> Result<usize, StoreError> {
        let removed = self.forget(|transaction| {
            if everywhere {
                synced::queue_delete_all(transaction)?;
            }
            transaction.execute("DELETE FROM sync_state", [])?;
            transaction.execute("DELETE FROM generations", [])
        })?;
        self.sweep()?;
        Ok(removed)
    }

    /// Runs a delete so that nothing of the deleted rows stays readable on disk: `secure_delete`
    /// overwrites their bytes in the pages written, and a checkpoint copies those pages into the
    /// database and empties the write-ahead log, which still held the rows as first written.
    fn forget(
        &self,
        statements: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<usize>,
    ) -> Result<usize, StoreError> {
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|error| self.db_error(error))?;
        let removed = statements(&transaction).map_err(|error| self.db_error(error))?;
        transaction.commit().map_err(|error| self.db_error(error))?;
        if removed > 0 {
            connection
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get::<_, i64>(0))
                .map_err(|error| self.db_error(error))?;
        }
        Ok(removed)
    }

    fn blob_path(&self, name: &str) -> PathBuf {
        self.blobs.join(&name[..2.min(name.len())]).join(name)
    }

    /// Encrypts and writes a blob (if not already there) and returns its name.
    fn put_blob(&self, plaintext: &[u8]) -> Result<String, StoreError> {
        self.put_blob_with(&self.key(), plaintext)
    }

    fn put_blob_with(&self, key: &DataKey, plaintext: &[u8]) -> Result<String, StoreError> {
        let name = key.content_name(plaintext);
        let path = self.blob_path(&name);
        if path.exists() {
            return Ok(name);
        }
        let io = |source| StoreError::Io { path: path.clone(), source };
        let folder = path.parent().unwrap_or(&self.blobs);
        crate::private::create_dir_all(folder).map_err(io)?;
        // Unique per writer: two jobs (or two blobs of one job) may store the same bytes at once.
        let temporary = folder.join(format!(".{name}.{}.{:08x}.partial", std::process::id(), OsRng.next_u32()));
        let result = (|| {
            let mut file = fs::File::create(&temporary)?;
            file.write_all(&key.seal(&name, plaintext))?;
            file.sync_all()?;
            fs::rename(&temporary, &path)
        })();
        if let Err(source) = result {
            let _ = fs::remove_file(&temporary);
            // Blobs are named by their content and appear only whole (by rename), so one already
            // there is this one: another writer's rename won. On Windows a rename onto a file that
            // another writer or a reader has open fails instead of replacing it.
            if path.exists() {
                return Ok(name);
            }
            return Err(io(source));
        }
        Ok(name)
    }

    /// Removes blob files no generation refers to, and temporary files of interrupted writes.
    fn sweep(&self) -> Result<(), StoreError> {
        let _sweeping = self.storing.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let referenced: std::collections::HashSet<String> = {
            let connection = self.connection();
            let mut statement = connection
                .prepare("SELECT input_blob, asset_blob, thumbnail_blob FROM generations")
                .map_err(|error| self.db_error(error))?;
            let rows = statement
                .query_map([], |row| Ok([row.get::<_, String>(0)?, row.get(1)?, row.get(2)?]))
                .map_err(|error| self.db_error(error))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| self.db_error(error))?;
            rows.into_iter().flatten().collect()
        };
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        for shard in fs::read_dir(&self.blobs).map_err(io(&self.blobs))? {
            let shard = shard.map_err(io(&self.blobs))?.path();
            if !shard.is_dir() {
                // Blobs live in shard folders; a file here can only be left over from an interruption.
                fs::remove_file(&shard).map_err(io(&shard))?;
                continue;
            }
            for entry in fs::read_dir(&shard).map_err(io(&shard))? {
                let path = entry.map_err(io(&shard))?.path();
                let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
                if !referenced.contains(&name) {
                    fs::remove_file(&path).map_err(io(&path))?;
                }
            }
        }
        Ok(())
    }
}

/// A fresh key for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) fn test_key() -> crypto::DataKey {
    crypto::DataKey::generate()
}

fn row_to_generation(row: &rusqlite::Row<'_>) -> rusqlite::Result<Generation> {
    Ok(Generation {
        id: row.get(0)?,
        created_ms: row.get(1)?,
        source: row.get(2)?,
        record_json: row.get(3)?,
        input_blob: row.get(4)?,
        asset_blob: row.get(5)?,
        thumbnail_blob: row.get(6)?,
        device: row.get(7)?,
    })
}

fn insert_row(connection: &Connection, generation: &Generation) -> rusqlite::Result<usize> {
    connection.execute(
        "INSERT INTO generations (id, created_ms, source, record_json, input_blob, asset_blob, thumbnail_blob, device)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            generation.id,
            generation.created_ms,
            generation.source,
            generation.record_json,
            generation.input_blob,
            generation.asset_blob,
            generation.thumbnail_blob,
            generation.device
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use key::Fixed;

    fn files_under(folder: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![folder.to_path_buf()];
        while let Some(next) = pending.pop() {
            for entry in fs::read_dir(next).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() { pending.push(path) } else { found.push(path) }
            }
        }
        found
    }

    fn sample(tag: u8) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let glb: Vec<u8> = b"glTF".iter().copied().chain((0..4000u32).map(|i| (i as u8) ^ tag)).collect();
        (vec![tag; 500], glb, vec![tag.wrapping_add(1); 300])
    }

    fn add(store: &HistoryStore, tag: u8) -> Generation {
        let (input, glb, thumbnail) = sample(tag);
        store
            .add(&NewGeneration {
                source: "duck.png",
                record_json: "{}",
                input: &input,
                asset_glb: &glb,
                thumbnail_png: &thumbnail,
            })
            .unwrap()
    }

    #[test]
    fn generations_round_trip_newest_first_and_are_encrypted_on_disk() {
        let folder = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(folder.path(), &Fixed::new(DataKey::generate())).unwrap();
        let first = add(&store, 1);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = add(&store, 2);
        let (page, total) = store.list(0, 10).unwrap();
        assert_eq!(total, 2);
        assert_eq!(page.iter().map(|g| g.id.clone()).collect::<Vec<_>>(), vec![second.id.clone(), first.id.clone()]);
        let (_, glb, _) = sample(2);
        assert_eq!(store.read(&second, Artifact::Asset).unwrap(), glb);
        // No file on disk contains the plaintext.
        for path in files_under(folder.path()) {
            let bytes = fs::read(&path).unwrap();
            assert!(!bytes.windows(64).any(|window| window == &glb[100..164]), "{} holds plaintext", path.display());
        }
    }

    #[test]
    fn the_same_bytes_stored_by_writers_at_once_end_as_one_whole_blob() {
        let folder = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(folder.path(), &Fixed::new(DataKey::generate())).unwrap();
        // Jobs on the same picture store the same input at once, each blob on a thread of its own.
        let generations: Vec<Generation> = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..6).map(|_| scope.spawn(|| add(&store, 7))).collect();
            writers.into_iter().map(|writer| writer.join().unwrap()).collect()
        });
        let (input, glb, thumbnail) = sample(7);
        for generation in &generations {
            assert_eq!(store.read(generation, Artifact::Input).unwrap(), input);
            assert_eq!(store.read(generation, Artifact::Asset).unwrap(), glb);
            assert_eq!(store.read(generation, Artifact::Thumbnail).unwrap(), thumbnail);
        }
        assert_eq!(files_under(&folder.path().join("blobs")).len(), 3, "one file per distinct blob, no partial files");
    }

    #[test]
    fn deleting_while_another_generation_is_stored_keeps_the_new_one_whole() {
        let folder = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(folder.path(), &Fixed::new(DataKey::generate())).unwrap();
        // One client keeps deleting its generations while jobs store new ones: a sweep between a
        // job's blobs and its row must not take those blobs.
        let kept: Vec<Generation> = std::thread::scope(|scope| {
            let deleter = scope.spawn(|| {
                for round in 0..150u8 {
                    let doomed = add(&store, round.wrapping_mul(2));
                    store.delete(&doomed.id, false).unwrap();
                }
            });
            let stored: Vec<Generation> = (0..150u8).map(|round| add(&store, round.wrapping_mul(2) | 1)).collect();
            deleter.join().unwrap();
            stored
        });
        for generation in &kept {
            for artifact in [Artifact::Input, Artifact::Asset, Artifact::Thumbnail] {
                store.read(generation, artifact).unwrap_or_else(|error| panic!("{}: {error}", generation.id));
            }
        }
    }

    #[test]
    fn delete_removes_the_bytes_from_disk() {
        let folder = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(folder.path(), &Fixed::new(DataKey::generate())).unwrap();
        let keep = add(&store, 1);
        let gone = add(&store, 2);
        let blobs_before = files_under(&folder.path().join("blobs")).len();
        assert!(store.delete(&gone.id, false).unwrap());
        assert!(!store.delete(&gone.id, false).unwrap());
        assert_eq!(files_under(&folder.path().join("blobs")).len(), blobs_before - 3);
        assert!(store.get(&gone.id).unwrap().is_none());
        assert!(store.read(&keep, Artifact::Input).is_ok());
        assert_eq!(store.delete_all(false).unwrap(), 1);
        assert!(files_under(&folder.path().join("blobs")).is_empty());
    }

    #[test]
    fn deleted_records_leave_no_readable_trace_in_the_database_files() {
        let folder = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(folder.path(), &Fixed::new(DataKey::generate())).unwrap();
        let (input, glb, thumbnail) = sample(1);
        let secret = |n: usize| format!("/home/ada/private/photo-{n}-d1a9c0b7.png");
        let mut ids = Vec::new();
        for n in 0..3 {
            let record = format!("{{\"source\":\"{}\",\"note\":\"record-{n}-7f3e\"}}", secret(n));
            let generation = store
                .add(&NewGeneration {
                    source: &secret(n),
                    record_json: &record,
                    input: &input,
                    asset_glb: &glb,
                    thumbnail_png: &thumbnail,
                })
                .unwrap();
            ids.push(generation.id);
        }
        let database_bytes = || -> Vec<u8> {
            fs::read_dir(folder.path())
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .filter(|path| path.file_name().unwrap().to_string_lossy().starts_with("history.db"))
                .flat_map(|path| fs::read(path).unwrap())
                .collect()
        };
        let holds = |bytes: &[u8], text: &str| bytes.windows(text.len()).any(|window| window == text.as_bytes());
        assert!(holds(&database_bytes(), &secret(0)), "the test must see the text while it is kept");
        assert!(store.delete(&ids[0], false).unwrap());
        let bytes = database_bytes();
        assert!(!holds(&bytes, &secret(0)) && !holds(&bytes, "record-0-7f3e"), "a deleted row is still readable");
        assert!(holds(&bytes, &secret(1)), "the others are kept");
        assert_eq!(store.delete_all(false).unwrap(), 2);
        drop(store);
        let bytes = database_bytes();
        for n in 0..3 {
            assert!(!holds(&bytes, &secret(n)) && !holds(&bytes, &format!("record-{n}-7f3e")), "row {n} is readable");
        }
    }

    #[test]
    fn an_interrupted_write_leaves_nothing_behind_after_reopening() {
        let folder = tempfile::tempdir().unwrap();
        let key = DataKey::generate();
        {
            let store = HistoryStore::open(folder.path(), &Fixed::new(key.clone())).unwrap();
            add(&store, 1);
            // A blob written whose row never was (the daemon killed in between), and a partial file.
            store.put_blob(b"orphan").unwrap();
            fs::write(folder.path().join("blobs").join(".x.partial"), b"half").unwrap();
        }
        let store = HistoryStore::open(folder.path(), &Fixed::new(key)).unwrap();
        assert_eq!(store.list(0, 10).unwrap().1, 1);
        assert_eq!(files_under(&folder.path().join("blobs")).len(), 3);
    }

    #[test]
    fn another_key_is_refused_and_altered_blobs_are_detected() {
        let folder = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(folder.path(), &Fixed::new(DataKey::generate())).unwrap();
        let generation = add(&store, 1);
        let error = HistoryStore::open(folder.path(), &Fixed::new(DataKey::generate())).unwrap_err();
        assert!(matches!(error, StoreError::KeyMismatch(_)), "{error:?}");
        assert!(error.to_string().contains("history clear"));
        let path = store.blob_path(&generation.asset_blob);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, bytes).unwrap();
        assert!(matches!(store.read(&generation, Artifact::Asset), Err(StoreError::Damaged(_))));
    }
}
