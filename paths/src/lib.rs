//! Where 3D GPT keeps things, decided in one place for the daemon and every client: the per-user
//! runtime folder with the daemon's socket (or, on Windows, the named pipe derived from it) and
//! its loopback token, and the data folder with the history's settings, the models and ONNX
//! Runtime. Both sides call the same functions, so they always agree.
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

/// The per-user runtime folder: `THREEDGPT_RUNTIME_DIR` if set, else `$XDG_RUNTIME_DIR/3dgpt`, else
/// `<temp>/3dgpt-<uid>` (Linux, macOS); `%LOCALAPPDATA%\3dgpt\run` on Windows.
pub fn runtime_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("THREEDGPT_RUNTIME_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    platform_runtime_dir()
}

#[cfg(unix)]
fn platform_runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("3dgpt"),
        _ => std::env::temp_dir().join(format!("3dgpt-{}", rustix::process::getuid().as_raw())),
    }
}

#[cfg(windows)]
fn platform_runtime_dir() -> PathBuf {
    // The user's local application data admits only the user; the temporary folder is the user's too.
    match std::env::var_os("LOCALAPPDATA") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("3dgpt").join("run"),
        _ => std::env::temp_dir().join("3dgpt-run"),
    }
}

/// The token file of the daemon's loopback TCP endpoint, in a runtime folder.
pub fn tcp_token_path(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join("tcp-token")
}

/// The folder for the history, settings, models and ONNX Runtime: `THREEDGPT_DATA_DIR`, else
/// `%LOCALAPPDATA%\3dgpt` on Windows, `$XDG_DATA_HOME/3dgpt`, else `~/.local/share/3dgpt`
/// elsewhere.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("THREEDGPT_DATA_DIR").filter(|dir| !dir.is_empty()) {
        return dir.into();
    }
    #[cfg(windows)]
    if let Some(dir) = std::env::var_os("LOCALAPPDATA").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir).join("3dgpt");
    }
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir).join("3dgpt");
    }
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".local").join("share").join("3dgpt")
}

/// The installed models, in a data folder.
pub fn models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models")
}

/// Where `scripts/install_onnxruntime.sh` puts ONNX Runtime, in a data folder.
pub fn onnxruntime_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("onnxruntime")
}

/// The daemon's socket in a runtime folder. On Windows no file is made there: the daemon listens on
/// the named pipe [`pipe_name`] derives from this path.
pub fn socket_path(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join("daemon.sock")
}

/// The named pipe (`\\.\pipe\3dgpt-…`) of the daemon whose socket path is `socket_path`. Pipes
/// share one machine-wide namespace, so the name carries a hash of the path (which lies in the
/// user's own folder): another user's daemon, or one for another runtime folder, has another pipe.
/// Windows paths ignore case, and so does the hash.
#[cfg(windows)]
pub fn pipe_name(socket_path: &Path) -> PathBuf {
    PathBuf::from(format!(r"\\.\pipe\3dgpt-{:016x}", path_hash(socket_path)))
}

/// FNV-1a (64-bit) over the path's lower-cased text: stable across builds and Rust versions, which
/// the standard library's hasher does not promise, so a client and a daemon built apart agree.
#[cfg_attr(not(windows), allow(dead_code))]
fn path_hash(path: &Path) -> u64 {
    path.to_string_lossy()
        .to_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_hash_is_fnv1a_and_ignores_case() {
        // FNV-1a's published value for "a" (the hash must never change: clients and daemons of
        // different builds must agree on the pipe).
        assert_eq!(path_hash(Path::new("a")), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(path_hash(Path::new(r"C:\Users\Ada\run")), path_hash(Path::new(r"c:\users\ada\RUN")));
        assert_ne!(path_hash(Path::new(r"C:\Users\Ada\run")), path_hash(Path::new(r"C:\Users\Bob\run")));
    }

    #[cfg(windows)]
    #[test]
    fn each_runtime_folder_has_its_own_pipe() {
        let a = pipe_name(&socket_path(Path::new(r"C:\Users\Ada\AppData\Local\3dgpt\run")));
        let b = pipe_name(&socket_path(Path::new(r"C:\Users\Bob\AppData\Local\3dgpt\run")));
        assert!(a.to_string_lossy().starts_with(r"\\.\pipe\3dgpt-"));
        assert_ne!(a, b);
    }
}
