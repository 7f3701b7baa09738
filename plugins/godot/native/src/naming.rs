//! Where a generated model goes: `<folder>/<image-name>.glb`, never over an existing file. A name
//! is reserved from the moment a job takes it until the job ends, so two jobs from the same picture
//! (or a job and a re-import) never pick the same file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// Names taken by jobs of this process that have not ended.
static RESERVED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// A file name's stem that is safe in every file system and in a `res://` path: letters, digits,
/// `-` and `_` kept, anything else made `_`, at most 64 characters, never empty.
pub(crate) fn safe_stem(name: &str) -> String {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = match file.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => file,
    };
    let safe: String = stem
        .chars()
        .map(|character| if character.is_alphanumeric() || matches!(character, '-' | '_') { character } else { '_' })
        .take(64)
        .collect();
    let safe = safe.trim_matches('_');
    if safe.is_empty() { "model".to_owned() } else { safe.to_owned() }
}

/// A path in `folder` for a model made from `image_name` that names no existing file and no
/// file another job holds: `photo.glb`, else `photo-2.glb`, `photo-3.glb`… It stays reserved
/// until the returned guard is dropped.
pub(crate) fn reserve(folder: &Path, image_name: &str) -> Reservation {
    let stem = safe_stem(image_name);
    let mut reserved = RESERVED.lock().unwrap_or_else(PoisonError::into_inner);
    let reserved = reserved.get_or_insert_with(HashSet::new);
    let path = (1u32..)
        .map(|number| match number {
            1 => folder.join(format!("{stem}.glb")),
            _ => folder.join(format!("{stem}-{number}.glb")),
        })
        .find(|path| !reserved.contains(path) && !taken(path))
        .expect("some numbered name is free");
    reserved.insert(path.clone());
    Reservation { path }
}

/// Whether anything (a file, a folder, a dangling link) or its import record is there.
fn taken(path: &Path) -> bool {
    let import = path.with_extension("glb.import");
    path.symlink_metadata().is_ok() || import.symlink_metadata().is_ok()
}

/// A name held for a job; dropping it lets the name go (the file, if written, then holds it).
#[derive(Debug)]
pub(crate) struct Reservation {
    path: PathBuf,
}

impl Reservation {
    /// The reserved path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut reserved = RESERVED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(reserved) = reserved.as_mut() {
            reserved.remove(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stem_is_the_pictures_name_made_safe() {
        assert_eq!(safe_stem("duck.png"), "duck");
        assert_eq!(safe_stem("res://photos/my duck (1).JPG"), "my_duck__1");
        assert_eq!(safe_stem("C:\\Users\\me\\vase.webp"), "vase");
        assert_eq!(safe_stem("archive.tar.gz"), "archive_tar");
        assert_eq!(safe_stem(".png"), "png");
        assert_eq!(safe_stem("***"), "model");
        assert_eq!(safe_stem(""), "model");
        assert_eq!(safe_stem("ÄØ-ß.png"), "ÄØ-ß");
        assert_eq!(safe_stem(&"x".repeat(300)).len(), 64);
    }

    #[test]
    fn an_existing_file_or_a_running_jobs_name_is_never_taken() {
        let folder = tempfile::tempdir().unwrap();
        let first = reserve(folder.path(), "duck.png");
        assert_eq!(first.path(), folder.path().join("duck.glb"));
        // Another job from the same picture while the first runs.
        let second = reserve(folder.path(), "duck.jpg");
        assert_eq!(second.path(), folder.path().join("duck-2.glb"));
        // The first wrote its file and ended: its name stays taken by the file.
        std::fs::write(first.path(), b"glTF").unwrap();
        drop(first);
        // A file the editor still imports (its .import record) holds its name too.
        std::fs::write(folder.path().join("duck-3.glb.import"), b"").unwrap();
        let third = reserve(folder.path(), "duck.png");
        assert_eq!(third.path(), folder.path().join("duck-4.glb"));
        // A cancelled job wrote nothing: its name is free again.
        drop(second);
        assert_eq!(reserve(folder.path(), "duck.png").path(), folder.path().join("duck-2.glb"));
    }
}
