//! Files and folders only this user may open. On Unix they are made 0700 and 0600 whatever the
//! umask. On Windows the folders the daemon uses (under `%LOCALAPPDATA%`, or the user's temporary
//! folder) already admit only the user, SYSTEM and administrators, and what is made in them
//! inherits that.

use std::fs;
use std::io;
use std::path::Path;

/// Creates `path` and its missing parents, private to the user.
pub(crate) fn create_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Creates a new file (an error if it exists) that only the user can read.
pub(crate) fn create_new_file(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}
