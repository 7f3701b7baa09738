//! Finding and loading ONNX Runtime's shared library, once per process.
//!
//! The library is never linked at build time: the daemon looks for it (a configured path,
//! `ORT_DYLIB_PATH`, the set-up location, beside the program), loads it with `ort::init_from`,
//! which reports a missing or wrong file as an error instead of panicking, and says exactly how to
//! install it when it is absent. The built-in reconstructor never needs it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::ep::ExecutionProvider;

/// The ONNX Runtime version this build is made for.
pub const VERSION: &str = "1.31.1";

/// The library's file name on this platform.
#[cfg(target_os = "linux")]
pub const LIBRARY: &str = "libonnxruntime.so.1.31.1";
/// The library's file name on this platform.
#[cfg(target_os = "macos")]
pub const LIBRARY: &str = "libonnxruntime.1.31.1.dylib";
/// The library's file name on this platform.
#[cfg(windows)]
pub const LIBRARY: &str = "onnxruntime.dll";

/// How to install the library, for messages.
pub const INSTALL_ADVICE: &str = "install it with scripts/install_onnxruntime.sh (the CPU build from the PyPI wheel \
     onnxruntime==1.31.1), or point ORT_DYLIB_PATH or `3dgpt serve --onnxruntime` at libonnxruntime.so.1.31.1";

/// The loaded runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// The library loaded.
    pub path: PathBuf,
    /// Its version, from the library itself.
    pub version: String,
    /// Execution providers it offers, in order of preference, `CPU` last.
    pub providers: Vec<String>,
}

/// Why ONNX Runtime is not available.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// No library was found.
    #[error("ONNX Runtime is not installed (looked for {}); {INSTALL_ADVICE}; the built-in reconstructor works without it", searched.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound {
        /// Where it looked.
        searched: Vec<PathBuf>,
    },
    /// A library was found but could not be loaded.
    #[error("could not load ONNX Runtime from {}: {reason}; {INSTALL_ADVICE}", path.display())]
    Load {
        /// The library.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Where to look for the library, in order: the configured path, `ORT_DYLIB_PATH`, the set-up
/// location in the data folder, and beside the running program.
pub fn candidates(configured: Option<&Path>, data_dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    paths.extend(configured.map(Path::to_path_buf));
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|path| !path.is_empty()) {
        paths.push(PathBuf::from(path));
    }
    paths.push(threedgpt_paths::onnxruntime_dir(data_dir).join(LIBRARY));
    if let Some(folder) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)) {
        paths.push(folder.join(LIBRARY));
    }
    paths
}

struct Loaded {
    info: RuntimeInfo,
    environment: std::sync::Arc<Environment>,
}

static LOADED: OnceLock<Loaded> = OnceLock::new();
static LOADING: Mutex<()> = Mutex::new(());

/// Loads ONNX Runtime from the first candidate that exists (once per process; later calls return
/// the same runtime whatever they pass).
pub fn load(candidates: &[PathBuf]) -> Result<RuntimeInfo, RuntimeError> {
    if let Some(loaded) = LOADED.get() {
        return Ok(loaded.info.clone());
    }
    let _one_at_a_time = LOADING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(loaded) = LOADED.get() {
        return Ok(loaded.info.clone());
    }
    let Some(path) = candidates.iter().find(|path| path.is_file()) else {
        return Err(RuntimeError::NotFound { searched: candidates.to_vec() });
    };
    let failed = |reason: String| RuntimeError::Load { path: path.clone(), reason };
    let environment = ort::init_from(path)
        .map_err(|error| failed(error.to_string()))?
        .with_name("3dgpt")
        .build()
        .map_err(|error| failed(error.to_string()))?;
    let version = build_version(ort::info()).unwrap_or_else(|| VERSION.to_owned());
    let info = RuntimeInfo { path: path.clone(), version, providers: available_providers() };
    tracing::info!(path = %info.path.display(), version = %info.version, providers = ?info.providers, "ONNX Runtime loaded");
    let loaded = LOADED.get_or_init(|| Loaded { info, environment: std::sync::Arc::new(environment) });
    Ok(loaded.info.clone())
}

/// The loaded runtime's environment, for sessions.
pub(crate) fn environment() -> Option<std::sync::Arc<Environment>> {
    LOADED.get().map(|loaded| loaded.environment.clone())
}

/// The runtime, when loaded.
pub fn loaded() -> Option<RuntimeInfo> {
    LOADED.get().map(|loaded| loaded.info.clone())
}

/// "git-branch=rel-1.31.1, ..." → "1.31.1".
fn build_version(build_info: &str) -> Option<String> {
    let start = build_info.find("git-branch=")? + "git-branch=".len();
    let branch = build_info[start..].split(',').next()?;
    let version = branch.trim().trim_start_matches("rel-");
    (version.split('.').count() == 3 && version.split('.').all(|part| part.parse::<u32>().is_ok()))
        .then(|| version.to_owned())
}

/// The execution providers this library was built with, in our order of preference.
fn available_providers() -> Vec<String> {
    let mut providers = Vec::new();
    let mut offer = |name: &str, available: ort::Result<bool>| {
        if available.unwrap_or(false) {
            providers.push(name.to_owned());
        }
    };
    offer("TensorRT", ort::ep::TensorRT::is_available());
    offer("CUDA", ort::ep::CUDA::is_available());
    offer("CPU", ort::ep::CPU::is_available());
    if !providers.iter().any(|name| name == "CPU") {
        providers.push("CPU".to_owned());
    }
    providers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_from_the_build_string() {
        let info = "ORT Build Info: git-branch=rel-1.31.1, git-commit-id=abc, build type=Release";
        assert_eq!(build_version(info).as_deref(), Some("1.31.1"));
        assert_eq!(build_version("nothing useful"), None);
    }

    #[test]
    fn a_missing_library_is_an_error_that_says_how_to_install_it() {
        let folder = tempfile::tempdir().unwrap();
        let searched = candidates(Some(&folder.path().join("nowhere.so")), folder.path());
        assert_eq!(searched[0], folder.path().join("nowhere.so"));
        assert!(searched.contains(&folder.path().join("onnxruntime").join(LIBRARY)));
        let missing: Vec<PathBuf> = searched.into_iter().filter(|path| !path.exists()).collect();
        let error = load(&missing).unwrap_err();
        assert!(matches!(error, RuntimeError::NotFound { .. }));
        assert!(error.to_string().contains("scripts/install_onnxruntime.sh"), "{error}");
    }
}
