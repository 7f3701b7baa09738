//! The daemon's end of the local endpoint: a Unix socket (Linux, macOS) that only this user's
//! processes can open, or a named pipe (Windows) that only this user can open and no other machine
//! can reach. Either yields a stream of connections for tonic.

use std::path::Path;

use anyhow::Context;

#[cfg(unix)]
use super::connections::Guarded;

/// Listens on the Unix socket at `socket_path` (0600) and yields connections whose peer runs as
/// this user, admitted by `limiter`; others are dropped (and logged, at most once in ten seconds).
#[cfg(unix)]
pub(super) fn listen(
    socket_path: &Path,
    limiter: super::connections::Limiter,
) -> anyhow::Result<impl tokio_stream::Stream<Item = std::io::Result<Guarded<tokio::net::UnixStream>>> + use<>> {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    use super::connections::{AcceptBackoff, RateLimitedLog};

    let listener = tokio::net::UnixListener::bind(socket_path)
        .with_context(|| format!("could not listen on {}", socket_path.display()))?;
    fs::set_permissions(socket_path, fs::Permissions::from_mode(0o600))
        .with_context(|| format!("could not make {} private", socket_path.display()))?;
    let own_uid = rustix::process::getuid().as_raw();
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        let mut backoff = AcceptBackoff::new();
        let mut refusals = RateLimitedLog::new(Duration::from_secs(10));
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => {
                    backoff.succeeded();
                    stream
                }
                Err(error) => {
                    backoff.failed("socket", &error).await;
                    continue;
                }
            };
            // Only this user's processes may talk to the daemon: the socket is 0600 and every
            // peer's uid is checked as well.
            let peer = match stream.peer_cred() {
                Ok(credentials) if credentials.uid() == own_uid => {
                    credentials.pid().map_or_else(|| "pid unknown".to_owned(), |pid| format!("pid {pid}"))
                }
                Ok(credentials) => {
                    refusals.note(|suppressed| {
                        tracing::warn!(uid = credentials.uid(), suppressed, "refused a connection from another user");
                    });
                    continue;
                }
                Err(error) => {
                    refusals.note(|suppressed| {
                        tracing::warn!(%error, suppressed, "refused a connection whose peer could not be identified");
                    });
                    continue;
                }
            };
            let Some(admitted) = limiter.admit(stream, peer, true) else { continue };
            if sender.send(Ok(admitted)).await.is_err() {
                return; // The server has stopped.
            }
        }
    });
    Ok(tokio_stream::wrappers::ReceiverStream::new(receiver))
}

/// Who is on the other end of a pipe connection (for fairness between clients and the logs).
#[cfg(windows)]
#[derive(Debug, Clone)]
pub(crate) struct PipeConnectInfo {
    /// The client's process id, when Windows tells it.
    pub(crate) pid: Option<u32>,
}

/// One client's connection to the daemon's named pipe.
#[cfg(windows)]
pub(super) struct PipeConnection {
    stream: interprocess::local_socket::tokio::Stream,
    info: PipeConnectInfo,
}

/// Only the pipe's owner (this user) gets any access: a protected DACL with one ACE for OWNER
/// RIGHTS. Without it Windows' default lets every account on the machine open the pipe for reading.
#[cfg(windows)]
const PIPE_SECURITY: &str = "D:P(A;;GA;;;OW)";

/// Listens on the named pipe derived from `socket_path`. The pipe refuses remote clients, admits
/// only this user, and is created as the first instance of its name, so a pipe some other process
/// made under that name first (another daemon, or an impostor) is an error, not a shared endpoint.
#[cfg(windows)]
pub(super) fn listen(
    socket_path: &Path,
) -> anyhow::Result<impl tokio_stream::Stream<Item = std::io::Result<PipeConnection>> + use<>> {
    use interprocess::local_socket::traits::StreamCommon;
    use interprocess::local_socket::traits::tokio::Listener;
    use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
    use interprocess::os::windows::local_socket::ListenerOptionsExt;
    use interprocess::os::windows::security_descriptor::SecurityDescriptor;

    let pipe = threedgpt_paths::pipe_name(socket_path);
    let name = pipe.as_os_str().to_fs_name::<GenericFilePath>()?;
    let security = widestring::U16CString::from_str(PIPE_SECURITY).context("the pipe's security descriptor")?;
    let security = SecurityDescriptor::deserialize(&security).context("the pipe's security descriptor")?;
    let listener = ListenerOptions::new()
        .name(name)
        .security_descriptor(security)
        .create_tokio()
        .with_context(|| format!("could not listen on the pipe {}", pipe.display()))?;
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let connection = listener.accept().await.map(|stream| {
                let pid = stream.peer_creds().ok().and_then(|credentials| credentials.pid());
                PipeConnection { stream, info: PipeConnectInfo { pid } }
            });
            if let Err(error) = &connection {
                tracing::warn!(%error, "could not accept a connection");
                // An error that repeats (the pipe gone) must not spin a core.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            if sender.send(connection).await.is_err() {
                return; // The server has stopped.
            }
        }
    });
    Ok(tokio_stream::wrappers::ReceiverStream::new(receiver))
}

#[cfg(windows)]
impl tonic::transport::server::Connected for PipeConnection {
    type ConnectInfo = PipeConnectInfo;

    fn connect_info(&self) -> PipeConnectInfo {
        self.info.clone()
    }
}

#[cfg(windows)]
impl tokio::io::AsyncRead for PipeConnection {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
        buffer: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_read(context, buffer)
    }
}

#[cfg(windows)]
impl tokio::io::AsyncWrite for PipeConnection {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
        buffer: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_write(context, buffer)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_flush(context)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }
}
