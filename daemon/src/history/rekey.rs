//! Changing the history's key: at login on a device whose history has a key of its own, the
//! account's data key becomes the history's key and every file is sealed again under it, so one
//! key opens everything the person keeps, on every device.
//!
//! Crash-safe in this order: the new key is kept first as a secret beside the old (`NEXT`); the
//! files are sealed again under new names beside the old ones; one transaction points every row at
//! the new files and records the new key's check value; then the history key itself is replaced
//! and the secret dropped; the old files are swept. A daemon that stops anywhere in between opens
//! the history with whichever key its check value names (`settle`), and unreferenced files go in
//! the sweep at open.

use rusqlite::params;

use super::crypto::DataKey;
use super::key::{KeyError, KeySource};
use super::{Artifact, HistoryStore, StoreError, row_to_generation};

/// The secret that holds a new history key until the history is sealed with it.
const NEXT: &str = "history-key-next";

/// The key the history is sealed with, given the history key `current` and the check value the
/// database holds: a change that stopped after its transaction is finished here, one that stopped
/// before it is forgotten.
pub(super) fn settle(source: &dyn KeySource, current: DataKey, stored: Option<&str>) -> Result<DataKey, KeyError> {
    let Some(next) = source.secret(NEXT)?.and_then(|bytes| DataKey::from_bytes(&bytes)) else {
        return Ok(current);
    };
    if stored == Some(next.check_value().as_str()) && stored != Some(current.check_value().as_str()) {
        source.replace_key(&next)?;
        source.delete_secret(NEXT)?;
        tracing::info!("finished changing the history's key to the account's, which a stop had interrupted");
        return Ok(next);
    }
    source.delete_secret(NEXT)?;
    Ok(current)
}

impl HistoryStore {
    /// Seals the whole history again under `new` and makes it the history's key (in `source`).
    /// Returns how many generations were sealed again (0 when `new` is the key already).
    pub(crate) fn rekey(&self, new: [u8; 32], source: &dyn KeySource) -> Result<usize, StoreError> {
        let new = DataKey::from_bytes(&new).ok_or_else(|| StoreError::Damaged("the new key".to_owned()))?;
        let storing = self.storing.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.key();
        if current.check_value() == new.check_value() {
            return Ok(0);
        }
        source.set_secret(NEXT, new.bytes())?;
        let generations = {
            let connection = self.connection();
            let mut statement = connection
                .prepare(
                    "SELECT id, created_ms, source, record_json, input_blob, asset_blob, thumbnail_blob, device
                     FROM generations",
                )
                .map_err(|error| self.db_error(error))?;
            statement
                .query_map([], row_to_generation)
                .map_err(|error| self.db_error(error))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| self.db_error(error))?
        };
        let mut renamed = Vec::new();
        for generation in generations.iter().filter(|generation| generation.is_here()) {
            let mut names = Vec::new();
            for artifact in [Artifact::Input, Artifact::Asset, Artifact::Thumbnail] {
                let plaintext = self.read_with(&current, generation, artifact)?;
                names.push(self.put_blob_with(&new, &plaintext)?);
            }
            renamed.push((generation.id.clone(), names));
        }
        {
            let mut connection = self.connection();
            let transaction = connection.transaction().map_err(|error| self.db_error(error))?;
            for (id, names) in &renamed {
                transaction
                    .execute(
                        "UPDATE generations SET input_blob = ?2, asset_blob = ?3, thumbnail_blob = ?4 WHERE id = ?1",
                        params![id, names[0], names[1], names[2]],
                    )
                    .map_err(|error| self.db_error(error))?;
            }
            transaction
                .execute("UPDATE meta SET value = ?1 WHERE name = 'key_check'", params![new.check_value()])
                .map_err(|error| self.db_error(error))?;
            transaction.commit().map_err(|error| self.db_error(error))?;
        }
        *self.key.write().unwrap_or_else(std::sync::PoisonError::into_inner) = new.clone();
        // Should this fail, the next open finishes it from the secret (see `settle`).
        source.replace_key(&new)?;
        source.delete_secret(NEXT)?;
        drop(storing);
        self.sweep()?;
        Ok(renamed.len())
    }
}

#[cfg(test)]
mod tests {
    use super::super::NewGeneration;
    use super::super::key::Fixed;
    use super::*;

    fn add(store: &HistoryStore, tag: u8) -> String {
        let glb: Vec<u8> = b"glTF".iter().copied().chain(std::iter::repeat_n(tag, 3000)).collect();
        store
            .add(&NewGeneration {
                source: "duck.png",
                record_json: "{}",
                input: &[tag; 700],
                asset_glb: &glb,
                thumbnail_png: &[tag; 90],
            })
            .unwrap()
            .id
    }

    #[test]
    fn a_new_key_seals_everything_again_and_the_old_one_opens_nothing() {
        let folder = tempfile::tempdir().unwrap();
        let (old, new) = (DataKey::generate(), DataKey::generate());
        let source = Fixed::new(old.clone());
        let store = HistoryStore::open(folder.path(), &source).unwrap();
        let ids = [add(&store, 1), add(&store, 2)];
        let before: Vec<Vec<u8>> =
            ids.iter().map(|id| store.read(&store.get(id).unwrap().unwrap(), Artifact::Asset).unwrap()).collect();
        assert_eq!(store.rekey(*new.bytes(), &source).unwrap(), 2);
        assert_eq!(store.rekey(*new.bytes(), &source).unwrap(), 0, "already that key");
        for (id, bytes) in ids.iter().zip(&before) {
            assert_eq!(&store.read(&store.get(id).unwrap().unwrap(), Artifact::Asset).unwrap(), bytes);
        }
        assert_eq!(source.secret(NEXT).unwrap(), None);
        drop(store);
        // The source's key is the new one now; the old key opens nothing.
        let reopened = HistoryStore::open(folder.path(), &source).unwrap();
        assert_eq!(reopened.key_bytes(), *new.bytes());
        assert!(matches!(HistoryStore::open(folder.path(), &Fixed::new(old)), Err(StoreError::KeyMismatch(_))));
    }

    #[test]
    fn a_change_stopped_after_its_transaction_is_finished_at_open_and_one_stopped_before_is_dropped() {
        let folder = tempfile::tempdir().unwrap();
        let (old, new) = (DataKey::generate(), DataKey::generate());
        let source = Fixed::new(old.clone());
        let id = {
            let store = HistoryStore::open(folder.path(), &source).unwrap();
            add(&store, 3)
        };
        // Stopped before the transaction: the secret is there, the database still says the old key.
        source.set_secret(NEXT, new.bytes()).unwrap();
        let store = HistoryStore::open(folder.path(), &source).unwrap();
        assert_eq!(store.key_bytes(), *old.bytes());
        assert_eq!(source.secret(NEXT).unwrap(), None);
        // Stopped after it: the database says the new key, the source still holds the old.
        store.rekey(*new.bytes(), &source).unwrap();
        drop(store);
        source.replace_key(&old).unwrap();
        source.set_secret(NEXT, new.bytes()).unwrap();
        let store = HistoryStore::open(folder.path(), &source).unwrap();
        assert_eq!(store.key_bytes(), *new.bytes());
        assert!(store.read(&store.get(&id).unwrap().unwrap(), Artifact::Input).is_ok());
        assert_eq!(source.load_or_create(None).unwrap().0.bytes(), new.bytes());
    }
}
