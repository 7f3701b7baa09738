//! Where the history's data key lives: the OS keychain (through `keyring`), or, only when the user
//! opts in, a private key file. Never silently in the clear.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyring_core::CredentialStore;

use super::crypto::DataKey;

const SERVICE: &str = "3dgpt";
/// The entry's name before it was kept per data folder: one key for every daemon of a user.
const LEGACY_ACCOUNT: &str = "history-data-key";

/// The keychain entry's name for the history key of the daemon whose data folder is `data_dir`:
/// two daemons of one user with different data folders are two devices, with two keys.
pub(crate) fn entry_name(data_dir: &Path) -> String {
    format!("{LEGACY_ACCOUNT} {}", folder_digest(data_dir))
}

/// What names this data folder's entries.
fn folder_digest(data_dir: &Path) -> String {
    let folder = fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    blake3::hash(folder.as_os_str().as_encoded_bytes()).to_hex()[..16].to_owned()
}

/// Why no key could be had.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    #[error(
        "no usable OS keychain ({0}); history is off. To keep history with its key in a private file instead, start the daemon with `3dgpt serve --key-file PATH`"
    )]
    NoKeychain(String),
    #[error("could not use the key file {}: {source}", path.display())]
    KeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the key file {} does not hold a 32-byte key; restore it or remove it (the history it protects is then unreadable)", .0.display())]
    BadKeyFile(PathBuf),
}

/// A place the data key is kept.
pub(crate) trait KeySource: Send + Sync {
    /// The key, created and stored on first use. `sealed_with` is the check value of the key the
    /// history already holds data under, if any: a key found elsewhere (an earlier version's entry)
    /// is taken over only when it is that key.
    fn load_or_create(&self, sealed_with: Option<&str>) -> Result<(DataKey, bool), KeyError>;
    /// A description for logs and `System.Info`.
    fn describe(&self) -> String;
    /// Another secret of this data folder (the account's session and data key), kept where the
    /// history key is; `None` when there is none.
    fn secret(&self, name: &str) -> Result<Option<Vec<u8>>, KeyError>;
    /// Keeps a secret, replacing one of the same name.
    fn set_secret(&self, name: &str, value: &[u8]) -> Result<(), KeyError>;
    /// Forgets a secret; no error when there is none.
    fn delete_secret(&self, name: &str) -> Result<(), KeyError>;
    /// Replaces the history key (`HistoryStore::rekey`, once the history is sealed with `key`).
    fn replace_key(&self, key: &DataKey) -> Result<(), KeyError>;
}

/// The OS keychain through `keyring-core`: the login keychain on macOS, the Credential Manager on
/// Windows. On Linux: the Secret Service (GNOME Keyring, KWallet)
/// when the session bus offers one, which keeps the key on disk, locked with the user's login;
/// else the kernel key retention service, which keeps it only in memory — until a reboot, after
/// which the history cannot be read (the daemon then says so and how to start afresh).
pub(crate) struct Keychain {
    store: Arc<CredentialStore>,
    description: &'static str,
    /// Where an earlier version may have put the key (the kernel keyring): moved over on first use.
    earlier: Option<Arc<CredentialStore>>,
    /// This data folder's entry name (`entry_name`).
    account: String,
    /// What names this data folder's other entries.
    folder: String,
}

impl Keychain {
    /// Finds the platform's keychain, for the daemon whose data folder is `data_dir`.
    pub(crate) fn install(data_dir: &Path) -> Result<Keychain, KeyError> {
        let (account, folder) = (entry_name(data_dir), folder_digest(data_dir));
        #[cfg(target_os = "linux")]
        {
            match secret_service() {
                Ok(store) => Ok(Keychain {
                    store,
                    description: "Secret Service keychain",
                    earlier: kernel_keyring().ok(),
                    account,
                    folder,
                }),
                Err(reason) => {
                    tracing::info!(%reason, "no Secret Service on the session bus; using the kernel keyring");
                    Ok(Keychain {
                        store: kernel_keyring()?,
                        description: "kernel keyring (kept in memory only: a reboot loses it and with it the \
                                      history; a desktop keychain or --key-file keeps it)",
                        earlier: None,
                        account,
                        folder,
                    })
                }
            }
        }
        #[cfg(target_os = "macos")]
        {
            // The user's login keychain: on disk, unlocked with the user's login.
            let store = apple_native_keyring_store::keychain::Store::new()
                .map_err(|error| KeyError::NoKeychain(error.to_string()))?;
            Ok(Keychain { store, description: "macOS login keychain", earlier: None, account, folder })
        }
        #[cfg(windows)]
        {
            // The Credential Manager: generic credentials, encrypted with the user's login (DPAPI).
            let store =
                windows_native_keyring_store::Store::new().map_err(|error| KeyError::NoKeychain(error.to_string()))?;
            Ok(Keychain { store, description: "Windows Credential Manager", earlier: None, account, folder })
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
        {
            let _ = (account, folder);
            Err(KeyError::NoKeychain("no keychain is supported on this platform".to_owned()))
        }
    }

    fn entry(store: &Arc<CredentialStore>, account: &str) -> Result<keyring_core::Entry, KeyError> {
        keyring_core::Entry::new_in_store(store, SERVICE, account)
            .map_err(|error| KeyError::NoKeychain(error.to_string()))
    }

    /// An earlier version's key (the one fixed entry, here or in the kernel keyring), when the
    /// history was sealed with it.
    fn earlier_key(&self, sealed_with: Option<&str>) -> Option<DataKey> {
        let sealed_with = sealed_with?;
        let stores = std::iter::once(&self.store).chain(self.earlier.as_ref());
        let accounts = [self.account.as_str(), LEGACY_ACCOUNT];
        stores
            .flat_map(|store| accounts.iter().map(move |account| (store, *account)))
            .filter(|(store, account)| !(Arc::ptr_eq(store, &self.store) && *account == self.account))
            .filter_map(|(store, account)| Keychain::entry(store, account).ok()?.get_secret().ok())
            .filter_map(|secret| DataKey::from_bytes(&secret))
            .find(|key| key.check_value() == sealed_with)
    }
}

/// The Secret Service on the session bus, if one answers.
#[cfg(target_os = "linux")]
fn secret_service() -> Result<Arc<CredentialStore>, String> {
    if std::env::var_os("THREEDGPT_NO_SECRET_SERVICE").is_some() {
        return Err("THREEDGPT_NO_SECRET_SERVICE is set".to_owned());
    }
    let store: Arc<CredentialStore> =
        zbus_secret_service_keyring_store::Store::new().map_err(|error| error.to_string())?;
    // A bus without a secrets daemon (or with its collection locked) fails here, not later.
    match Keychain::entry(&store, LEGACY_ACCOUNT).map_err(|error| error.to_string())?.get_secret() {
        Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(store),
        Err(error) => Err(error.to_string()),
    }
}

/// The kernel keyring. Inside containers and services the process has no session keyring until it
/// joins one, which is done here.
#[cfg(target_os = "linux")]
fn kernel_keyring() -> Result<Arc<CredentialStore>, KeyError> {
    linux_keyutils::KeyRing::from_special_id(linux_keyutils::KeyRingIdentifier::Session, true)
        .map_err(|error| KeyError::NoKeychain(format!("no session keyring: {error:?}")))?;
    let store = linux_keyutils_keyring_store::Store::new().map_err(|error| KeyError::NoKeychain(error.to_string()))?;
    Ok(store)
}

impl KeySource for Keychain {
    fn load_or_create(&self, sealed_with: Option<&str>) -> Result<(DataKey, bool), KeyError> {
        let entry = Keychain::entry(&self.store, &self.account)?;
        let damaged = || KeyError::NoKeychain("the keychain holds a damaged history key".to_owned());
        match entry.get_secret() {
            Ok(secret) => DataKey::from_bytes(&secret).map(|key| (key, false)).ok_or_else(damaged),
            Err(keyring_core::Error::NoEntry) => {
                // The earlier entry is copied, never removed: another data folder of this user may
                // have been sealed with it too.
                let earlier = self.earlier_key(sealed_with);
                let created = earlier.is_none();
                let key = earlier.unwrap_or_else(DataKey::generate);
                entry.set_secret(key.bytes()).map_err(|error| KeyError::NoKeychain(error.to_string()))?;
                if !created {
                    tracing::info!(keychain = self.description, entry = %self.account, "history key taken over from an earlier version's entry");
                }
                Ok((key, created))
            }
            Err(error) => Err(KeyError::NoKeychain(error.to_string())),
        }
    }

    fn describe(&self) -> String {
        self.description.to_owned()
    }

    fn secret(&self, name: &str) -> Result<Option<Vec<u8>>, KeyError> {
        match self.secret_entry(name)?.get_secret() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(error) => Err(KeyError::NoKeychain(error.to_string())),
        }
    }

    fn set_secret(&self, name: &str, value: &[u8]) -> Result<(), KeyError> {
        self.secret_entry(name)?.set_secret(value).map_err(|error| KeyError::NoKeychain(error.to_string()))
    }

    fn delete_secret(&self, name: &str) -> Result<(), KeyError> {
        match self.secret_entry(name)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(error) => Err(KeyError::NoKeychain(error.to_string())),
        }
    }

    fn replace_key(&self, key: &DataKey) -> Result<(), KeyError> {
        Keychain::entry(&self.store, &self.account)?
            .set_secret(key.bytes())
            .map_err(|error| KeyError::NoKeychain(error.to_string()))
    }
}

impl Keychain {
    fn secret_entry(&self, name: &str) -> Result<keyring_core::Entry, KeyError> {
        Keychain::entry(&self.store, &format!("{name} {}", self.folder))
    }
}

/// A key kept in a file only the user can read (0600), chosen explicitly with `--key-file`.
pub(crate) struct KeyFile(pub(crate) PathBuf);

impl KeySource for KeyFile {
    fn load_or_create(&self, _sealed_with: Option<&str>) -> Result<(DataKey, bool), KeyError> {
        let path = &self.0;
        let failed = |source| KeyError::KeyFile { path: path.clone(), source };
        match fs::read(path) {
            Ok(bytes) => {
                DataKey::from_bytes(&bytes).map(|key| (key, false)).ok_or_else(|| KeyError::BadKeyFile(path.clone()))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = DataKey::generate();
                write_private(path, key.bytes()).map_err(failed)?;
                Ok((key, true))
            }
            Err(error) => Err(failed(error)),
        }
    }

    fn describe(&self) -> String {
        format!("key file {}", self.0.display())
    }

    fn secret(&self, name: &str) -> Result<Option<Vec<u8>>, KeyError> {
        let path = self.secret_path(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(KeyError::KeyFile { path, source }),
        }
    }

    fn set_secret(&self, name: &str, value: &[u8]) -> Result<(), KeyError> {
        // Written beside, then renamed over: a crash leaves the old secret or the new, whole.
        let path = self.secret_path(name);
        let partial = path.with_extension("partial");
        let _ = fs::remove_file(&partial);
        write_private(&partial, value)
            .and_then(|()| fs::rename(&partial, &path))
            .map_err(|source| KeyError::KeyFile { path, source })
    }

    fn delete_secret(&self, name: &str) -> Result<(), KeyError> {
        let path = self.secret_path(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(KeyError::KeyFile { path, source }),
        }
    }

    fn replace_key(&self, key: &DataKey) -> Result<(), KeyError> {
        // Written beside, then renamed over: the file holds the old key or the new, whole.
        let partial = self.secret_path("partial");
        let _ = fs::remove_file(&partial);
        write_private(&partial, key.bytes())
            .and_then(|()| fs::rename(&partial, &self.0))
            .map_err(|source| KeyError::KeyFile { path: self.0.clone(), source })
    }
}

impl KeyFile {
    /// The user chose files for secrets: the others sit beside the key file, as private as it.
    fn secret_path(&self, name: &str) -> PathBuf {
        let mut path = self.0.clone().into_os_string();
        path.push(format!(".{name}"));
        PathBuf::from(path)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut file = crate::private::create_new_file(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Where [`Fixed`] keeps a replaced key.
#[cfg(test)]
const FIXED_REPLACED: &str = "\0replaced history key";

/// A key source that holds its key and secrets in memory, for tests.
#[cfg(test)]
pub(crate) struct Fixed(pub(crate) DataKey, pub(crate) std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>);

#[cfg(test)]
impl Fixed {
    pub(crate) fn new(key: DataKey) -> Fixed {
        Fixed(key, Default::default())
    }
}

#[cfg(test)]
impl KeySource for Fixed {
    fn load_or_create(&self, _sealed_with: Option<&str>) -> Result<(DataKey, bool), KeyError> {
        let replaced = self.1.lock().unwrap().get(FIXED_REPLACED).and_then(|bytes| DataKey::from_bytes(bytes));
        Ok((replaced.unwrap_or_else(|| self.0.clone()), false))
    }

    fn replace_key(&self, key: &DataKey) -> Result<(), KeyError> {
        self.1.lock().unwrap().insert(FIXED_REPLACED.to_owned(), key.bytes().to_vec());
        Ok(())
    }

    fn describe(&self) -> String {
        "fixed test key".to_owned()
    }

    fn secret(&self, name: &str) -> Result<Option<Vec<u8>>, KeyError> {
        Ok(self.1.lock().unwrap().get(name).cloned())
    }

    fn set_secret(&self, name: &str, value: &[u8]) -> Result<(), KeyError> {
        self.1.lock().unwrap().insert(name.to_owned(), value.to_vec());
        Ok(())
    }

    fn delete_secret(&self, name: &str) -> Result<(), KeyError> {
        self.1.lock().unwrap().remove(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let source = KeyFile(dir.path().join("keys").join("history.key"));
        let (first, created) = source.load_or_create(None).unwrap();
        assert!(created);
        let (second, created) = source.load_or_create(None).unwrap();
        assert!(!created);
        assert_eq!(first.bytes(), second.bytes());
        #[cfg(unix)]
        {
            let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&source.0).unwrap().permissions());
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(&source.0, b"short").unwrap();
        assert!(matches!(source.load_or_create(None), Err(KeyError::BadKeyFile(_))));
    }

    fn keychain(store: &Arc<CredentialStore>, earlier: Option<Arc<CredentialStore>>, data_dir: &Path) -> Keychain {
        Keychain {
            store: store.clone(),
            description: "test keychain",
            earlier,
            account: entry_name(data_dir),
            folder: folder_digest(data_dir),
        }
    }

    #[test]
    fn an_earlier_versions_key_is_taken_over_only_by_the_history_sealed_with_it() {
        let earlier: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let old_key = DataKey::generate();
        Keychain::entry(&earlier, LEGACY_ACCOUNT).unwrap().set_secret(old_key.bytes()).unwrap();
        let store: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let folders = tempfile::tempdir().unwrap();
        let (a, b) = (folders.path().join("a"), folders.path().join("b"));

        // A history sealed with the old key keeps it (copied to this folder's own entry).
        let first = keychain(&store, Some(earlier.clone()), &a);
        let (moved, created) = first.load_or_create(Some(&old_key.check_value())).unwrap();
        assert!(!created && moved.bytes() == old_key.bytes(), "the history stays readable");
        assert_eq!(Keychain::entry(&store, &entry_name(&a)).unwrap().get_secret().unwrap(), old_key.bytes());
        // The earlier entry stays: another data folder may be sealed with it too.
        assert!(Keychain::entry(&earlier, LEGACY_ACCOUNT).unwrap().get_secret().is_ok());

        // Another data folder with no history yet: a key of its own, not the shared one.
        let second = keychain(&store, Some(earlier.clone()), &b);
        let (fresh, created) = second.load_or_create(None).unwrap();
        assert!(created && fresh.bytes() != old_key.bytes());
        assert_eq!(second.load_or_create(None).unwrap().0.bytes(), fresh.bytes());
        assert_ne!(entry_name(&a), entry_name(&b));

        // The legacy entry in the same store counts too.
        let same: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
        Keychain::entry(&same, LEGACY_ACCOUNT).unwrap().set_secret(old_key.bytes()).unwrap();
        let (taken, created) = keychain(&same, None, &a).load_or_create(Some(&old_key.check_value())).unwrap();
        assert!(!created && taken.bytes() == old_key.bytes());
        // A history sealed with some other key never gets the legacy one (the daemon then reports
        // the mismatch instead of opening the wrong history).
        let (other, created) = keychain(&same, None, &b).load_or_create(Some("not this key")).unwrap();
        assert!(created && other.bytes() != old_key.bytes());
    }

    #[test]
    fn a_keychain_that_refuses_access_says_so_and_is_never_written_over() {
        let folder = tempfile::tempdir().unwrap();
        let store: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
        let empty = keychain(&store, None, folder.path());
        let (first, created) = empty.load_or_create(None).unwrap();
        assert!(created);
        assert_eq!(empty.load_or_create(None).unwrap().0.bytes(), first.bytes());
        let entry = Keychain::entry(&empty.store, &empty.account).unwrap();
        let mock: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
        mock.set_error(keyring_core::Error::NoStorageAccess("locked".into()));
        let error = empty.load_or_create(None).unwrap_err();
        assert!(error.to_string().contains("no usable OS keychain") && error.to_string().contains("--key-file"));
        assert_eq!(empty.load_or_create(None).unwrap().0.bytes(), first.bytes());
    }

    #[test]
    fn the_real_keychain_keeps_the_key() {
        // Linux: the kernel keyring works inside containers once a session keyring is joined.
        // Windows (the tests under Wine): the Credential Manager.
        let folder = tempfile::tempdir().unwrap();
        let keychain = Keychain::install(folder.path()).expect("the platform's keychain should be usable here");
        #[cfg(windows)]
        assert_eq!(keychain.describe(), "Windows Credential Manager");
        let (first, _) = keychain.load_or_create(None).unwrap();
        let (second, created) = keychain.load_or_create(None).unwrap();
        assert!(!created);
        assert_eq!(first.bytes(), second.bytes());
    }
}
