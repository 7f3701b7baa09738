//! The model store: one folder per installed model (`<data>/models/<name>/`) holding its manifest
//! and files. Installing copies and checks every file's size and SHA-256 in a hidden staging folder
//! and renames it into place, so a failed install leaves nothing behind.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::manifest::{FileSpec, Manifest, ManifestError};

/// A model store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The manifest is unusable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// No model of that name is installed.
    #[error("no model {0:?} is installed; `3dgpt models list` shows what is")]
    NotInstalled(String),
    /// A file is missing from the source.
    #[error("{} is missing: the model {model:?} needs {file:?} there", path.display())]
    MissingSource {
        /// The model.
        model: String,
        /// The file it needs.
        file: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A file's size or SHA-256 differs from the manifest's.
    #[error(
        "{file} of the model {model:?} is not the file its manifest names ({difference}); it may be truncated, corrupt or another version: download it again"
    )]
    Checksum {
        /// The model.
        model: String,
        /// The file.
        file: String,
        /// What differs.
        difference: String,
    },
    /// The disk failed.
    #[error("could not write {}: {source}; check the disk has room", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// An installed model.
#[derive(Debug, Clone, PartialEq)]
pub struct Installed {
    /// Its manifest.
    pub manifest: Manifest,
    /// Its folder.
    pub folder: PathBuf,
}

impl Installed {
    /// The path of the file with a role.
    pub fn file(&self, role: &str) -> Option<(PathBuf, &FileSpec)> {
        self.manifest.file(role).map(|spec| (self.folder.join(&spec.path), spec))
    }
}

/// The models in a folder.
#[derive(Debug, Clone)]
pub struct ModelStore {
    root: PathBuf,
}

const MANIFEST: &str = "manifest.toml";

impl ModelStore {
    /// The store in `root` (created when the first model is installed).
    pub fn new(root: impl Into<PathBuf>) -> ModelStore {
        ModelStore { root: root.into() }
    }

    /// Its folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The installed models, by name. Folders without a readable manifest are skipped (and logged).
    pub fn list(&self) -> Vec<Installed> {
        let Ok(entries) = fs::read_dir(&self.root) else { return Vec::new() };
        let mut models: Vec<Installed> = entries
            .filter_map(Result::ok)
            .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|entry| match Manifest::read(&entry.path().join(MANIFEST)) {
                Ok(manifest) => Some(Installed { manifest, folder: entry.path() }),
                Err(error) => {
                    tracing::warn!(%error, "skipping a model folder");
                    None
                }
            })
            .collect();
        models.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
        models
    }

    /// The installed model with this name.
    pub fn get(&self, name: &str) -> Result<Installed, StoreError> {
        self.list()
            .into_iter()
            .find(|model| model.manifest.name == name)
            .ok_or_else(|| StoreError::NotInstalled(name.to_owned()))
    }

    /// Installs the model a manifest describes from `source`: a folder holding its files, or for a
    /// one-file model the file itself. `progress` hears bytes copied so far and the total.
    /// Replaces an installed model of the same name only once the new one is complete.
    pub fn install(
        &self,
        manifest_path: &Path,
        source: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Installed, StoreError> {
        let manifest = Manifest::read(manifest_path)?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        fs::create_dir_all(&self.root).map_err(io(&self.root))?;
        let staging = self.root.join(format!(".{}.installing-{}", manifest.name, std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        let result = (|| {
            fs::create_dir(&staging).map_err(io(&staging))?;
            let total = manifest.size();
            let mut done = 0;
            for file in &manifest.files {
                let from = if source.is_dir() { source.join(&file.path) } else { source.to_path_buf() };
                if !from.is_file() || (!source.is_dir() && manifest.files.len() > 1) {
                    return Err(StoreError::MissingSource {
                        model: manifest.name.clone(),
                        file: file.path.clone(),
                        path: from,
                    });
                }
                let target = staging.join(&file.path);
                copy_checked(&manifest.name, file, &from, &target, &mut |copied| progress(done + copied, total))?;
                done += file.size;
            }
            let manifest_copy = staging.join(MANIFEST);
            fs::copy(manifest_path, &manifest_copy).map_err(io(&manifest_copy))?;
            let folder = self.root.join(&manifest.name);
            if folder.exists() {
                let old = self.root.join(format!(".{}.replaced-{}", manifest.name, std::process::id()));
                fs::rename(&folder, &old).map_err(io(&folder))?;
                let _ = fs::remove_dir_all(&old);
            }
            fs::rename(&staging, &folder).map_err(io(&folder))?;
            Ok(Installed { manifest: manifest.clone(), folder })
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        result
    }

    /// Checks every file of an installed model against its manifest's size and SHA-256.
    pub fn verify(&self, name: &str) -> Result<Installed, StoreError> {
        let installed = self.get(name)?;
        for file in &installed.manifest.files {
            let path = installed.folder.join(&file.path);
            let (size, digest) = hash_file(&path).map_err(|source| StoreError::Io { path: path.clone(), source })?;
            check_digest(&installed.manifest.name, file, size, &digest)?;
        }
        Ok(installed)
    }

    /// Removes an installed model and its files.
    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        let installed = self.get(name)?;
        let doomed = self.root.join(format!(".{name}.removing-{}", std::process::id()));
        fs::rename(&installed.folder, &doomed).map_err(|source| StoreError::Io { path: installed.folder, source })?;
        fs::remove_dir_all(&doomed).map_err(|source| StoreError::Io { path: doomed, source })
    }
}

fn copy_checked(
    model: &str,
    spec: &FileSpec,
    from: &Path,
    to: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<(), StoreError> {
    let read_error = |source| StoreError::Io { path: from.to_path_buf(), source };
    let write_error = |source| StoreError::Io { path: to.to_path_buf(), source };
    let mut input = fs::File::open(from).map_err(read_error)?;
    let mut output = fs::File::create(to).map_err(write_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    let mut size = 0u64;
    loop {
        let read = input.read(&mut buffer).map_err(read_error)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        output.write_all(&buffer[..read]).map_err(write_error)?;
        size += read as u64;
        progress(size);
        if size > spec.size {
            break; // Larger than it should be: no need to copy the rest to know.
        }
    }
    output.sync_all().map_err(write_error)?;
    check_digest(model, spec, size, &hex(&hasher.finalize()))
}

fn check_digest(model: &str, spec: &FileSpec, size: u64, digest: &str) -> Result<(), StoreError> {
    let difference = if size != spec.size {
        format!(
            "{} bytes where the manifest says {}",
            if size > spec.size { format!("more than {size}") } else { size.to_string() },
            spec.size
        )
    } else if !digest.eq_ignore_ascii_case(&spec.sha256) {
        format!("SHA-256 {digest} where the manifest says {}", spec.sha256)
    } else {
        return Ok(());
    };
    Err(StoreError::Checksum { model: model.to_owned(), file: spec.path.clone(), difference })
}

fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut file, &mut hasher)?;
    Ok((size, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
