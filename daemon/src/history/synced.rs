//! What the history remembers for sync with the account (`crate::sync`): which generations the
//! account holds (`sync_state`), the deletions still to tell it (`sync_outbox`), and the cursor of
//! the last changes read (`meta`). All of it is in the history database, so the queue survives a
//! restart: a generation with no `sync_state` row is waiting to be uploaded.

use std::sync::atomic::Ordering;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Generation, HistoryStore, StoreError, insert_row, row_to_generation};

/// What the account knows of a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncMark {
    /// The account holds it.
    Synced,
    /// Made while sync was off: it stays on this device.
    Local,
}

impl SyncMark {
    fn text(self) -> &'static str {
        match self {
            SyncMark::Synced => "synced",
            SyncMark::Local => "local",
        }
    }
}

/// A deletion the account has not been told of yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outgoing {
    Delete(String),
    DeleteAll,
}

/// A generation from another device, as sync brings it.
pub(crate) struct Pulled<'a> {
    pub(crate) id: &'a str,
    pub(crate) created_ms: i64,
    pub(crate) source: &'a str,
    pub(crate) record_json: &'a str,
    pub(crate) device: &'a str,
    pub(crate) input: &'a [u8],
    pub(crate) asset_glb: &'a [u8],
    pub(crate) thumbnail_png: &'a [u8],
}

/// The marker of the outbox row that deletes everything.
const ALL: &str = "*";

pub(super) fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    let has_device: bool =
        connection.prepare("SELECT 1 FROM pragma_table_info('generations') WHERE name = 'device'")?.exists([])?;
    if !has_device {
        connection.execute_batch("ALTER TABLE generations ADD COLUMN device TEXT NOT NULL DEFAULT ''")?;
    }
    // `blobs`: the account's names for a synced generation's files (JSON), so a copy removed from
    // this device alone can be downloaded again.
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS sync_state (id TEXT PRIMARY KEY, state TEXT NOT NULL, seq INTEGER NOT NULL,
                                                blobs TEXT NOT NULL DEFAULT '');
         CREATE TABLE IF NOT EXISTS sync_outbox (id TEXT PRIMARY KEY, queued_ms INTEGER NOT NULL);",
    )
}

fn remember_blobs(connection: &Connection, id: &str, blobs: Option<&str>) -> rusqlite::Result<usize> {
    match blobs {
        Some(blobs) => connection.execute("UPDATE sync_state SET blobs = ?2 WHERE id = ?1", params![id, blobs]),
        None => Ok(0),
    }
}

pub(super) fn mark(connection: &Connection, id: &str, mark: SyncMark, seq: i64) -> rusqlite::Result<usize> {
    connection.execute(
        "INSERT INTO sync_state (id, state, seq) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET state = ?2, seq = ?3",
        params![id, mark.text(), seq],
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_millis() as i64)
}

pub(super) fn queue_delete_if_synced(transaction: &Transaction<'_>, id: &str) -> rusqlite::Result<usize> {
    transaction.execute(
        "INSERT OR IGNORE INTO sync_outbox (id, queued_ms)
         SELECT id, ?2 FROM sync_state WHERE id = ?1 AND state = 'synced'",
        params![id, now_ms()],
    )
}

pub(super) fn queue_delete_all(transaction: &Transaction<'_>) -> rusqlite::Result<usize> {
    transaction.execute("DELETE FROM sync_outbox", [])?;
    transaction.execute("INSERT INTO sync_outbox (id, queued_ms) VALUES (?1, ?2)", params![ALL, now_ms()])
}

impl HistoryStore {
    /// Whether new generations stay on this device (signed in with sync off).
    pub(crate) fn set_keep_local(&self, keep: bool) {
        self.keep_local.store(keep, Ordering::Relaxed);
    }

    /// Generations waiting to be uploaded, oldest first.
    pub(crate) fn pending_uploads(&self, limit: usize) -> Result<Vec<Generation>, StoreError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare(
                "SELECT id, created_ms, source, record_json, input_blob, asset_blob, thumbnail_blob, device
                 FROM generations WHERE id NOT IN (SELECT id FROM sync_state)
                 ORDER BY created_ms, id LIMIT ?1",
            )
            .map_err(|error| self.db_error(error))?;
        let rows = statement
            .query_map(params![limit as i64], row_to_generation)
            .map_err(|error| self.db_error(error))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| self.db_error(error))?;
        Ok(rows)
    }

    /// How many generations wait to be uploaded, and how many deletions to be sent.
    pub(crate) fn pending_counts(&self) -> Result<(u64, u64), StoreError> {
        let connection = self.connection();
        let count = |sql: &str| connection.query_row(sql, [], |row| row.get::<_, i64>(0));
        let uploads = count("SELECT COUNT(*) FROM generations WHERE id NOT IN (SELECT id FROM sync_state)")
            .map_err(|error| self.db_error(error))?;
        let deletes = count("SELECT COUNT(*) FROM sync_outbox").map_err(|error| self.db_error(error))?;
        Ok((uploads.max(0) as u64, deletes.max(0) as u64))
    }

    /// Records that the account holds generation `id` (change number `seq`, its files under the
    /// names in `blobs` when known); `false` when the generation was deleted here meanwhile (the
    /// caller then deletes it there too).
    pub(crate) fn mark_synced(&self, id: &str, seq: i64, blobs: Option<&str>) -> Result<bool, StoreError> {
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|error| self.db_error(error))?;
        let exists: bool = transaction
            .prepare("SELECT 1 FROM generations WHERE id = ?1")
            .and_then(|mut statement| statement.exists(params![id]))
            .map_err(|error| self.db_error(error))?;
        if exists {
            mark(&transaction, id, SyncMark::Synced, seq).map_err(|error| self.db_error(error))?;
            remember_blobs(&transaction, id, blobs).map_err(|error| self.db_error(error))?;
        }
        transaction.commit().map_err(|error| self.db_error(error))?;
        Ok(exists)
    }

    /// Queues the deletion of `id` at the account (its upload finished after a local delete).
    pub(crate) fn queue_delete(&self, id: &str) -> Result<(), StoreError> {
        self.connection()
            .execute("INSERT OR IGNORE INTO sync_outbox (id, queued_ms) VALUES (?1, ?2)", params![id, now_ms()])
            .map_err(|error| self.db_error(error))?;
        Ok(())
    }

    /// The deletions to tell the account, in the order they were made.
    pub(crate) fn outgoing(&self) -> Result<Vec<Outgoing>, StoreError> {
        let ids = self.ids("SELECT id FROM sync_outbox ORDER BY queued_ms, id")?;
        Ok(ids.into_iter().map(|id| if id == ALL { Outgoing::DeleteAll } else { Outgoing::Delete(id) }).collect())
    }

    /// Takes a deletion the account has been told of off the queue.
    pub(crate) fn sent(&self, outgoing: &Outgoing) -> Result<(), StoreError> {
        let id = match outgoing {
            Outgoing::Delete(id) => id.as_str(),
            Outgoing::DeleteAll => ALL,
        };
        self.connection()
            .execute("DELETE FROM sync_outbox WHERE id = ?1", params![id])
            .map_err(|error| self.db_error(error))?;
        Ok(())
    }

    /// Whether this device has generation `id`.
    pub(crate) fn has(&self, id: &str) -> Result<bool, StoreError> {
        self.connection()
            .prepare("SELECT 1 FROM generations WHERE id = ?1")
            .and_then(|mut statement| statement.exists(params![id]))
            .map_err(|error| self.db_error(error))
    }

    /// Stores a generation from another device (blobs first, then its row, marked synced);
    /// `false` when it was already here or was deleted here and that is still to be sent.
    pub(crate) fn insert_pulled(&self, pulled: &Pulled<'_>, seq: i64, blobs: &str) -> Result<bool, StoreError> {
        let _storing = self.storing.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.has(pulled.id)? {
            return Ok(false);
        }
        let generation = Generation {
            id: pulled.id.to_owned(),
            created_ms: pulled.created_ms,
            source: pulled.source.to_owned(),
            record_json: pulled.record_json.to_owned(),
            device: pulled.device.to_owned(),
            input_blob: self.put_blob(pulled.input)?,
            asset_blob: self.put_blob(pulled.asset_glb)?,
            thumbnail_blob: self.put_blob(pulled.thumbnail_png)?,
        };
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|error| self.db_error(error))?;
        let doomed: bool = transaction
            .prepare("SELECT 1 FROM sync_outbox WHERE id = ?1 OR id = ?2")
            .and_then(|mut statement| statement.exists(params![pulled.id, ALL]))
            .map_err(|error| self.db_error(error))?;
        if doomed {
            return Ok(false);
        }
        let inserted = insert_row(&transaction, &generation).map_err(|error| self.db_error(error))?;
        mark(&transaction, pulled.id, SyncMark::Synced, seq).map_err(|error| self.db_error(error))?;
        remember_blobs(&transaction, pulled.id, Some(blobs)).map_err(|error| self.db_error(error))?;
        transaction.commit().map_err(|error| self.db_error(error))?;
        Ok(inserted > 0)
    }

    /// Removes a synced generation's files from this device only: it stays listed, and its files
    /// download again on first use. `false` when the account does not hold it (or it is not here).
    pub(crate) fn evict(&self, id: &str) -> Result<bool, StoreError> {
        let evicted = self.forget(|transaction| {
            transaction.execute(
                "UPDATE generations SET input_blob = '', asset_blob = '', thumbnail_blob = ''
                 WHERE id = ?1 AND asset_blob != ''
                 AND id IN (SELECT id FROM sync_state WHERE state = 'synced' AND blobs != '')",
                params![id],
            )
        })?;
        if evicted > 0 {
            self.sweep()?;
        }
        Ok(evicted > 0)
    }

    /// The account's names for a synced generation's files (as `remember_blobs` kept them).
    pub(crate) fn remote_blobs(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.connection()
            .query_row("SELECT blobs FROM sync_state WHERE id = ?1 AND blobs != ''", params![id], |row| row.get(0))
            .optional()
            .map_err(|error| self.db_error(error))
    }

    /// Puts the files of a generation removed from this device back (downloaded again).
    pub(crate) fn restore(
        &self,
        id: &str,
        input: &[u8],
        asset_glb: &[u8],
        thumbnail_png: &[u8],
    ) -> Result<Option<Generation>, StoreError> {
        let _storing = self.storing.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let names = [self.put_blob(input)?, self.put_blob(asset_glb)?, self.put_blob(thumbnail_png)?];
        self.connection()
            .execute(
                "UPDATE generations SET input_blob = ?2, asset_blob = ?3, thumbnail_blob = ?4 WHERE id = ?1",
                params![id, names[0], names[1], names[2]],
            )
            .map_err(|error| self.db_error(error))?;
        drop(_storing);
        self.get(id)
    }

    /// Removes the local copy of a generation the account deleted (nothing is queued).
    pub(crate) fn remove_deleted(&self, id: &str) -> Result<bool, StoreError> {
        self.delete(id, false)
    }

    /// The generations this device knows the account holds.
    pub(crate) fn synced_ids(&self) -> Result<Vec<String>, StoreError> {
        self.ids("SELECT id FROM sync_state WHERE state = 'synced'")
    }

    /// The first column of a query's rows.
    fn ids(&self, query: &str) -> Result<Vec<String>, StoreError> {
        let connection = self.connection();
        let mut statement = connection.prepare(query).map_err(|error| self.db_error(error))?;
        let ids = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(|error| self.db_error(error))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| self.db_error(error))?;
        Ok(ids)
    }

    /// A value kept in the history's `meta` table.
    pub(crate) fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.connection()
            .query_row("SELECT value FROM meta WHERE name = ?1", params![name], |row| row.get(0))
            .optional()
            .map_err(|error| self.db_error(error))
    }

    pub(crate) fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.connection()
            .execute(
                "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = ?2",
                params![name, value],
            )
            .map_err(|error| self.db_error(error))?;
        Ok(())
    }

    /// Starts sync afresh for `account`: when this history last synced with another account, what
    /// it knew of that one (marks, queued deletions, the cursor) is forgotten; the generations stay.
    pub(crate) fn sync_with(&self, account: &str) -> Result<(), StoreError> {
        if self.meta("sync_account")?.as_deref() == Some(account) {
            return Ok(());
        }
        {
            let mut connection = self.connection();
            let transaction = connection.transaction().map_err(|error| self.db_error(error))?;
            transaction
                .execute_batch(
                    "DELETE FROM sync_state WHERE state = 'synced';
                     DELETE FROM sync_outbox;
                     DELETE FROM meta WHERE name = 'sync_cursor';",
                )
                .map_err(|error| self.db_error(error))?;
            transaction.commit().map_err(|error| self.db_error(error))?;
        }
        self.set_meta("sync_account", account)
    }
}

#[cfg(test)]
mod tests {
    use super::super::key::Fixed;
    use super::super::{DataKey, NewGeneration};
    use super::*;

    fn add(store: &HistoryStore, tag: u8) -> Generation {
        store
            .add(&NewGeneration {
                source: "duck.png",
                record_json: "{}",
                input: &[tag; 10],
                asset_glb: &[tag; 20],
                thumbnail_png: &[tag; 5],
            })
            .unwrap()
    }

    #[test]
    fn the_queue_is_the_database_and_outlives_the_store() {
        let folder = tempfile::tempdir().unwrap();
        let key = DataKey::generate();
        let (kept, private) = {
            let store = HistoryStore::open(folder.path(), &Fixed::new(key.clone())).unwrap();
            store.sync_with("acct_1").unwrap();
            let kept = add(&store, 1);
            store.set_keep_local(true);
            let private = add(&store, 2);
            store.set_keep_local(false);
            (kept, private)
        };
        let store = HistoryStore::open(folder.path(), &Fixed::new(key)).unwrap();
        // Made with sync off: never offered for upload.
        assert_eq!(
            store.pending_uploads(10).unwrap().iter().map(|g| g.id.clone()).collect::<Vec<_>>(),
            std::slice::from_ref(&kept.id)
        );
        assert!(store.mark_synced(&kept.id, 7, None).unwrap());
        assert_eq!(store.pending_counts().unwrap(), (0, 0));
        // Deleted while signed in: the account is told; the local-only one needs no telling.
        assert!(store.delete(&kept.id, true).unwrap());
        assert!(store.delete(&private.id, true).unwrap());
        assert_eq!(store.outgoing().unwrap(), [Outgoing::Delete(kept.id.clone())]);
        // An upload that ends after its generation was deleted here is told so.
        assert!(!store.mark_synced(&kept.id, 8, None).unwrap());
        store.sent(&Outgoing::Delete(kept.id)).unwrap();
        assert!(store.outgoing().unwrap().is_empty());
        // Another account starts afresh.
        store.set_meta("sync_cursor", "12").unwrap();
        store.sync_with("acct_2").unwrap();
        assert_eq!(store.meta("sync_cursor").unwrap(), None);
    }

    #[test]
    fn a_pulled_generation_is_stored_once_and_not_while_its_delete_waits() {
        let folder = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(folder.path(), &Fixed::new(DataKey::generate())).unwrap();
        let pulled = Pulled {
            id: "gen-0000000000001-00000001",
            created_ms: 1,
            source: "ring.jpg",
            record_json: "{}",
            device: "Ada's desktop",
            input: b"picture",
            asset_glb: b"glTF....",
            thumbnail_png: b"png",
        };
        assert!(store.insert_pulled(&pulled, 3, "[refs]").unwrap());
        assert!(!store.insert_pulled(&pulled, 3, "[refs]").unwrap());
        let generation = store.get(pulled.id).unwrap().unwrap();
        assert_eq!(generation.device, "Ada's desktop");
        assert_eq!(store.read(&generation, super::super::Artifact::Asset).unwrap(), b"glTF....");
        // Removed from this device only: listed, its files gone, and back once downloaded again.
        assert!(store.evict(pulled.id).unwrap() && !store.evict(pulled.id).unwrap());
        let away = store.get(pulled.id).unwrap().unwrap();
        assert!(!away.is_here() && store.read(&away, super::super::Artifact::Asset).is_err());
        assert_eq!(store.remote_blobs(pulled.id).unwrap().as_deref(), Some("[refs]"));
        let back = store.restore(pulled.id, b"picture", b"glTF....", b"png").unwrap().unwrap();
        assert!(back.is_here() && store.read(&back, super::super::Artifact::Asset).unwrap() == b"glTF....");
        assert_eq!(store.synced_ids().unwrap(), [pulled.id]);
        assert_eq!(store.pending_counts().unwrap(), (0, 0));
        store.delete_all(true).unwrap();
        assert_eq!(store.outgoing().unwrap(), [Outgoing::DeleteAll]);
        assert!(!store.insert_pulled(&pulled, 3, "[refs]").unwrap(), "deleted everywhere: not brought back");
    }
}
