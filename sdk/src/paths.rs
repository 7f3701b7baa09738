//! Where a user's daemon listens: the per-user runtime folder and the socket in it. The daemon uses
//! the same functions, so both sides always agree.

use std::path::{Path, PathBuf};

/// The per-user runtime folder: `THREEDGPT_RUNTIME_DIR` if set, else `$XDG_RUNTIME_DIR/3dgpt`, else
/// `<temp>/3dgpt-<uid>`.
pub fn runtime_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("THREEDGPT_RUNTIME_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("3dgpt"),
        _ => std::env::temp_dir().join(format!("3dgpt-{}", rustix::process::getuid().as_raw())),
    }
}

/// The daemon's socket in a runtime folder.
pub fn socket_path(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join("daemon.sock")
}
