//! Where the history's data key lives: the OS keychain (through `keyring`), or, only when the user
//! opts in, a private key file. Never silently in the clear.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::crypto::DataKey;

const SERVICE: &str = "3dgpt";
const ACCOUNT: &str = "history-data-key";

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
    /// The key, created and stored on first use.
    fn load_or_create(&self) -> Result<(DataKey, bool), KeyError>;
    /// A description for logs and `System.Info`.
    fn describe(&self) -> String;
}

/// The OS keychain through `keyring-core`'s default store.
pub(crate) struct Keychain;

impl Keychain {
    /// Installs the platform's keychain as `keyring-core`'s default store. On Linux that is the
    /// kernel key retention service; inside containers and services the process has no session
    /// keyring until it joins one, which is done here.
    pub(crate) fn install() -> Result<Keychain, KeyError> {
        #[cfg(target_os = "linux")]
        {
            linux_keyutils::KeyRing::from_special_id(linux_keyutils::KeyRingIdentifier::Session, true)
                .map_err(|error| KeyError::NoKeychain(format!("no session keyring: {error:?}")))?;
            let store =
                linux_keyutils_keyring_store::Store::new().map_err(|error| KeyError::NoKeychain(error.to_string()))?;
            keyring_core::set_default_store(store);
            Ok(Keychain)
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(KeyError::NoKeychain("this platform's keychain is not wired up yet".to_owned()))
        }
    }
}

impl KeySource for Keychain {
    fn load_or_create(&self) -> Result<(DataKey, bool), KeyError> {
        let entry =
            keyring_core::Entry::new(SERVICE, ACCOUNT).map_err(|error| KeyError::NoKeychain(error.to_string()))?;
        match entry.get_secret() {
            Ok(secret) => DataKey::from_bytes(&secret)
                .map(|key| (key, false))
                .ok_or_else(|| KeyError::NoKeychain("the keychain holds a damaged history key".to_owned())),
            Err(keyring_core::Error::NoEntry) => {
                let key = DataKey::generate();
                entry.set_secret(key.bytes()).map_err(|error| KeyError::NoKeychain(error.to_string()))?;
                Ok((key, true))
            }
            Err(error) => Err(KeyError::NoKeychain(error.to_string())),
        }
    }

    fn describe(&self) -> String {
        "OS keychain".to_owned()
    }
}

/// A key kept in a file only the user can read (0600), chosen explicitly with `--key-file`.
pub(crate) struct KeyFile(pub(crate) PathBuf);

impl KeySource for KeyFile {
    fn load_or_create(&self) -> Result<(DataKey, bool), KeyError> {
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
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A key source that holds its key in memory, for tests.
#[cfg(test)]
pub(crate) struct Fixed(pub(crate) DataKey);

#[cfg(test)]
impl KeySource for Fixed {
    fn load_or_create(&self) -> Result<(DataKey, bool), KeyError> {
        Ok((self.0.clone(), false))
    }

    fn describe(&self) -> String {
        "fixed test key".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let source = KeyFile(dir.path().join("keys").join("history.key"));
        let (first, created) = source.load_or_create().unwrap();
        assert!(created);
        let (second, created) = source.load_or_create().unwrap();
        assert!(!created);
        assert_eq!(first.bytes(), second.bytes());
        let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&source.0).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        fs::write(&source.0, b"short").unwrap();
        assert!(matches!(source.load_or_create(), Err(KeyError::BadKeyFile(_))));
    }

    #[test]
    fn the_real_keychain_keeps_the_key() {
        // The kernel keyring works inside containers once a session keyring is joined.
        let keychain = Keychain::install().expect("the kernel keyring should be usable here");
        let (first, _) = keychain.load_or_create().unwrap();
        let (second, created) = keychain.load_or_create().unwrap();
        assert!(!created);
        assert_eq!(first.bytes(), second.bytes());
    }
}
