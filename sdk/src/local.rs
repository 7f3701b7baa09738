//! The daemon's local endpoint: a Unix socket on Linux and macOS, a named pipe on Windows. Either is
//! named by the socket path in the user's runtime folder (`paths::socket_path`); on Windows the
//! pipe's name is derived from that path (`paths::pipe_name`), so each runtime folder has its own
//! daemon on every platform.

use std::io;
use std::path::Path;
use std::process::Command;

/// A connection to the daemon's local endpoint.
#[cfg(unix)]
pub(crate) type LocalStream = tokio::net::UnixStream;
/// A connection to the daemon's local endpoint.
#[cfg(windows)]
pub(crate) type LocalStream = interprocess::local_socket::tokio::Stream;

/// Connects to the daemon listening at `socket`; `NotFound` or `ConnectionRefused` when none does.
#[cfg(unix)]
pub(crate) async fn connect(socket: &Path) -> io::Result<LocalStream> {
    tokio::net::UnixStream::connect(socket).await
}

/// Connects to the daemon's pipe for `socket`; `NotFound` when none listens. While every instance
/// of the pipe is busy (many clients connecting at once) it waits for one, up to five seconds.
#[cfg(windows)]
pub(crate) async fn connect(socket: &Path) -> io::Result<LocalStream> {
    use interprocess::ConnectWaitMode;
    use interprocess::local_socket::{ConnectOptions, GenericFilePath, ToFsName};

    let pipe = crate::paths::pipe_name(socket);
    let name = pipe.as_os_str().to_fs_name::<GenericFilePath>()?;
    ConnectOptions::new()
        .name(name)
        .wait_mode(ConnectWaitMode::Timeout(std::time::Duration::from_secs(5)))
        .connect_tokio()
        .await
}

/// Makes a started daemon independent of the client that starts it: a Ctrl-C or a closed console
/// meant for the client does not stop it.
pub(crate) fn detach(command: &mut Command) {
    #[cfg(unix)]
    {
        // Its own process group: the terminal's Ctrl-C goes to the client's group only.
        std::os::unix::process::CommandExt::process_group(command, 0);
    }
    #[cfg(windows)]
    {
        // No console of its own (nothing to show one for) and a process group of its own.
        const DETACHED_PROCESS: u32 = 0x0000_0008;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        std::os::windows::process::CommandExt::creation_flags(command, DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
        keep_standard_handles_from_children();
    }
}

/// Windows hands every inheritable handle of a process to the children it starts, and the standard
/// handles a client got from whoever runs it are inheritable — often the pipes of a pipeline that
/// reads the client's output. The daemon would hold them open for its whole life and the reader
/// would wait for their end until the daemon stops. Children meant to share them get duplicates made
/// for them (Rust's and Python's process APIs both do that), so clearing the flag here takes nothing
/// from them.
#[cfg(windows)]
#[allow(unsafe_code)]
fn keep_standard_handles_from_children() {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Foundation::{HANDLE_FLAG_INHERIT, SetHandleInformation};

    let handles =
        [std::io::stdin().as_raw_handle(), std::io::stdout().as_raw_handle(), std::io::stderr().as_raw_handle()];
    for handle in handles {
        if !handle.is_null() {
            // SAFETY: the handle is this process's own standard handle, which stays open; only its
            // inherit flag changes (an invalid value makes the call fail, which is harmless).
            unsafe { SetHandleInformation(handle, HANDLE_FLAG_INHERIT, 0) };
        }
    }
}
