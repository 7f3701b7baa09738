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

/// Why a local endpoint is not this user's daemon: it is refused before anything is sent to it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Untrusted(pub(crate) String);

impl Untrusted {
    fn error(message: String) -> io::Error {
        io::Error::new(io::ErrorKind::PermissionDenied, Untrusted(message))
    }

    /// The refusal inside an I/O error, if that is what it is.
    pub(crate) fn of(error: &io::Error) -> Option<&Untrusted> {
        error.get_ref().and_then(|inner| inner.downcast_ref::<Untrusted>())
    }
}

/// Connects to the daemon listening at `socket`; `NotFound` or `ConnectionRefused` when none does.
/// Nothing is sent unless the socket's folder and the socket are this user's own, the folder is
/// private, and the process listening runs as this user: another user could otherwise make the
/// folder first (with no `XDG_RUNTIME_DIR` it is in the shared temporary folder) and pose as the
/// daemon. Such an endpoint is an [`Untrusted`] error.
#[cfg(unix)]
pub(crate) async fn connect(socket: &Path) -> io::Result<LocalStream> {
    let own_uid = rustix::process::getuid().as_raw();
    check_endpoint(socket, own_uid)?;
    let stream = tokio::net::UnixStream::connect(socket).await?;
    let peer = stream.peer_cred()?;
    if peer.uid() != own_uid {
        return Err(Untrusted::error(format!(
            "the process listening on {} runs as uid {}, not as you (uid {own_uid}); it is not your daemon, so \
             nothing was sent to it. Stop it, or set THREEDGPT_RUNTIME_DIR to a folder of your own",
            socket.display(),
            peer.uid()
        )));
    }
    Ok(stream)
}

/// The checks on the socket's folder and file, before connecting: both this user's, the folder
/// open to nobody else (a folder of this user's that is too open is made private again).
#[cfg(unix)]
fn check_endpoint(socket: &Path, own_uid: u32) -> io::Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

    let folder = socket.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let metadata = std::fs::metadata(folder)?;
    if metadata.uid() != own_uid {
        return Err(Untrusted::error(format!(
            "the runtime folder {} belongs to uid {}, not to you (uid {own_uid}): another user may be posing as \
             your daemon, so nothing was sent. Remove that folder (as its owner or root), or set \
             THREEDGPT_RUNTIME_DIR (or XDG_RUNTIME_DIR) to a folder of your own",
            folder.display(),
            metadata.uid()
        )));
    }
    if metadata.mode() & 0o077 != 0 {
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700)).map_err(|error| {
            Untrusted::error(format!(
                "the runtime folder {} is open to other users (mode {:o}) and could not be made private ({error}); \
                 run `chmod 700 {}`",
                folder.display(),
                metadata.mode() & 0o777,
                folder.display()
            ))
        })?;
    }
    let socket_metadata = std::fs::symlink_metadata(socket)?;
    if !socket_metadata.file_type().is_socket() {
        return Err(Untrusted::error(format!(
            "{} is not a socket; remove it and start the daemon again (`3dgpt daemon status`)",
            socket.display()
        )));
    }
    if socket_metadata.uid() != own_uid {
        return Err(Untrusted::error(format!(
            "the socket {} belongs to uid {}, not to you (uid {own_uid}); it is not your daemon, so nothing was \
             sent. Remove it, or set THREEDGPT_RUNTIME_DIR to a folder of your own",
            socket.display(),
            socket_metadata.uid()
        )));
    }
    Ok(())
}

/// A sentence for a failed connection to the local endpoint: what was found there.
pub(crate) fn describe_connect_error(socket: &Path, error: &io::Error) -> String {
    if let Some(untrusted) = Untrusted::of(error) {
        return untrusted.0.clone();
    }
    match error.kind() {
        io::ErrorKind::NotFound => "it is not running (nothing listens there: no such socket)".to_owned(),
        io::ErrorKind::ConnectionRefused => {
            "it is not running (nothing listens on the socket a stopped daemon left behind)".to_owned()
        }
        io::ErrorKind::PermissionDenied => format!("permission denied opening {}: {error}", socket.display()),
        _ => format!("could not connect to {}: {error}", socket.display()),
    }
}

/// Connects to the daemon's pipe for `socket`; `NotFound` when none listens. While every instance
/// of the pipe is busy (many clients connecting at once) it waits for one, up to five seconds.
#[cfg(windows)]
pub(crate) async fn connect(socket: &Path) -> io::Result<LocalStream> {
    use interprocess::ConnectWaitMode;
    use interprocess::local_socket::{ConnectOptions, GenericFilePath, ToFsName};

    use interprocess::local_socket::traits::StreamCommon;

    let pipe = crate::paths::pipe_name(socket);
    let name = pipe.as_os_str().to_fs_name::<GenericFilePath>()?;
    let stream = ConnectOptions::new()
        .name(name)
        .wait_mode(ConnectWaitMode::Timeout(std::time::Duration::from_secs(5)))
        .connect_tokio()
        .await?;
    // Pipe names are machine-wide: another user could make this one first. Talk only to a server
    // process that runs as this user.
    let server = stream.peer_creds()?.pid().ok_or_else(|| io::Error::other("the pipe's server process is unknown"))?;
    if !runs_as_this_user(server)? {
        return Err(Untrusted::error(format!(
            "the process serving {} (pid {server}) runs as another user; it is not your daemon, so nothing \
             was sent to it. Stop it, or set THREEDGPT_RUNTIME_DIR to another folder of your own",
            pipe.display()
        )));
    }
    Ok(stream)
}

/// Whether the process `pid` runs as the same user (token SID) as this one.
#[cfg(windows)]
#[allow(unsafe_code)]
fn runs_as_this_user(pid: u32) -> io::Result<bool> {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::Security::{EqualSid, GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser};
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcess, OpenProcess, OpenProcessToken, PROCESS_QUERY_LIMITED_INFORMATION,
    };

    /// The user SID of a process's token, in a buffer that keeps it alive.
    fn token_user(process: HANDLE) -> io::Result<Vec<u64>> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: `process` is a valid process handle; `token` receives a handle we close below.
        if unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut token) } == 0 {
            return Err(io::Error::last_os_error());
        }
        // u64 elements keep the TOKEN_USER at the start of the buffer suitably aligned.
        let mut buffer = vec![0u64; 64];
        let mut length = 0u32;
        // SAFETY: the buffer is writable for its whole length, which is passed in bytes.
        let ok = unsafe {
            GetTokenInformation(token, TokenUser, buffer.as_mut_ptr().cast(), (buffer.len() * 8) as u32, &mut length)
        };
        let error = io::Error::last_os_error();
        // SAFETY: `token` was opened above and is closed once.
        unsafe { CloseHandle(token) };
        if ok == 0 {
            return Err(error);
        }
        Ok(buffer)
    }

    // SAFETY: the pseudo-handle of this process needs no closing.
    let own = token_user(unsafe { GetCurrentProcess() })?;
    // SAFETY: a plain query; the handle returned is checked and closed below.
    let process = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if process.is_null() {
        return Err(io::Error::last_os_error());
    }
    let theirs = token_user(process);
    // SAFETY: `process` was opened above and is closed once.
    unsafe { CloseHandle(process) };
    let theirs = theirs?;
    let sid = |buffer: &Vec<u64>| {
        // SAFETY: GetTokenInformation filled the buffer with a TOKEN_USER at its start.
        unsafe { (*buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid }
    };
    // SAFETY: both SIDs point into buffers that are alive here.
    Ok(unsafe { EqualSid(sid(&own), sid(&theirs)) } != 0)
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
