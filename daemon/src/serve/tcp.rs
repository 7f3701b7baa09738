//! The optional loopback TCP listener: every request must carry the daemon's bearer token (kept in
//! a 0600 file, compared in constant time), and requests from web pages (an `Origin` header:
//! browsers, DNS rebinding) are refused. Tonic serves HTTP/2 only, so plain HTTP/1 requests from a
//! browser never reach a service.

use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use subtle::ConstantTimeEq;
use tokio::net::{TcpListener, TcpStream};
use tonic::{Request, Status};

use super::connections::{AcceptBackoff, ConnectionInfo, Guarded, Limiter};

/// Binds `address`, writes the actual address to `tcp-address` and makes sure a token exists in
/// `tcp-token` (both in the runtime folder); returns the connections, admitted by `limiter`, and
/// the token.
pub(crate) async fn listen(
    address: SocketAddr,
    runtime_dir: &Path,
    limiter: Limiter,
) -> anyhow::Result<(impl tokio_stream::Stream<Item = std::io::Result<Guarded<TcpStream>>> + use<>, String)> {
    let listener = TcpListener::bind(address).await.with_context(|| format!("could not listen on {address}"))?;
    let bound = listener.local_addr()?;
    let token = load_or_create_token(&threedgpt_paths::tcp_token_path(runtime_dir))?;
    threedgpt_engine::export::write_atomic(&runtime_dir.join("tcp-address"), bound.to_string().as_bytes())?;
    tracing::info!(address = %bound, "also listening on loopback TCP");
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        let mut backoff = AcceptBackoff::new();
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => {
                    backoff.succeeded();
                    accepted
                }
                Err(error) => {
                    backoff.failed("loopback TCP", &error).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            // Nobody is trusted until a request shows the token, within the handshake deadline.
            let Some(admitted) = limiter.admit(stream, format!("tcp {peer}"), false) else { continue };
            if sender.send(Ok(admitted)).await.is_err() {
                return; // The server has stopped.
            }
        }
    });
    Ok((tokio_stream::wrappers::ReceiverStream::new(receiver), token))
}

/// The token from an earlier run when its file is still private to this user; otherwise a new
/// one. A token file that another user owns, or that others could read, is replaced: the old
/// token may be known to them.
fn load_or_create_token(path: &Path) -> anyhow::Result<String> {
    match private_file_problem(path) {
        Ok(None) => {
            if let Ok(existing) = fs::read_to_string(path) {
                let existing = existing.trim().to_owned();
                if existing.len() == 64 && existing.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                    return Ok(existing);
                }
            }
        }
        Ok(Some(problem)) => {
            tracing::warn!(path = %path.display(), problem, "the token file was not private; made a new token");
        }
        Err(_) => {} // No token file yet.
    }
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let _ = fs::remove_file(path);
    let mut file = crate::private::create_new_file(path)
        .with_context(|| format!("could not create the token file {}", path.display()))?;
    file.write_all(token.as_bytes())?;
    Ok(token)
}

/// What makes an existing file unfit to hold a secret: not a plain file, another user's, or
/// readable by others; `Ok(None)` when it is private to this user.
fn private_file_problem(path: &Path) -> std::io::Result<Option<String>> {
    let metadata = fs::symlink_metadata(path)?;
    if !metadata.file_type().is_file() {
        return Ok(Some("it is not a plain file".to_owned()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let own_uid = rustix::process::getuid().as_raw();
        if metadata.uid() != own_uid {
            return Ok(Some(format!("it belongs to uid {}", metadata.uid())));
        }
        if metadata.mode() & 0o077 != 0 {
            return Ok(Some(format!("its mode {:o} lets others read it", metadata.mode() & 0o777)));
        }
    }
    Ok(None)
}

/// Checks every TCP request's token and refuses browser requests.
#[derive(Clone)]
pub(crate) struct TokenGuard {
    expected: Vec<u8>,
    token_path: PathBuf,
}

impl TokenGuard {
    pub(crate) fn new(token: &str, runtime_dir: &Path) -> TokenGuard {
        TokenGuard {
            expected: format!("Bearer {token}").into_bytes(),
            token_path: threedgpt_paths::tcp_token_path(runtime_dir),
        }
    }
}

impl tonic::service::Interceptor for TokenGuard {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        if request.metadata().contains_key("origin") {
            tracing::warn!("refused a loopback request from a web page (Origin header)");
            return Err(Status::permission_denied("requests from web pages are refused"));
        }
        let offered = request.metadata().get("authorization").map(|value| value.as_bytes()).unwrap_or_default();
        if offered.len() != self.expected.len() || !bool::from(offered.ct_eq(&self.expected)) {
            return Err(Status::unauthenticated(format!(
                "missing or wrong token; send `authorization: Bearer <token>` with the token from {}",
                self.token_path.display()
            )));
        }
        if let Some(connection) = request.extensions().get::<ConnectionInfo>() {
            connection.authenticate();
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor;

    fn request(headers: &[(&'static str, &str)]) -> Request<()> {
        let mut request = Request::new(());
        for (name, value) in headers {
            request.metadata_mut().insert(*name, value.parse().unwrap());
        }
        request
    }

    #[test]
    fn only_the_right_token_without_an_origin_passes() {
        let runtime_dir = Path::new("/run/3dgpt");
        let token_file = threedgpt_paths::tcp_token_path(runtime_dir).display().to_string();
        let mut guard = TokenGuard::new("abc123", runtime_dir);
        assert!(guard.call(request(&[("authorization", "Bearer abc123")])).is_ok());
        for headers in [
            vec![],
            vec![("authorization", "Bearer abc124")],
            vec![("authorization", "Bearer abc1234")],
            vec![("authorization", "abc123")],
        ] {
            let status = guard.call(request(&headers)).unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{headers:?}");
            assert!(status.message().contains(&token_file), "{}", status.message());
        }
        let status =
            guard.call(request(&[("authorization", "Bearer abc123"), ("origin", "http://evil.example")])).unwrap_err();
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn the_token_file_is_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tcp-token");
        let first = load_or_create_token(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create_token(&path).unwrap(), first);
        #[cfg(unix)]
        {
            let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&path).unwrap().permissions());
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_others_could_read_or_own_is_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tcp-token");
        let first = load_or_create_token(&path).unwrap();
        // Made readable to everyone: the token may be known, so a new one replaces it, 0600.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let second = load_or_create_token(&path).unwrap();
        assert_ne!(second, first);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // A file of another user's (as root here: chown to nobody) is not trusted either.
        if rustix::process::getuid().is_root() {
            rustix::fs::chown(&path, Some(rustix::fs::Uid::from_raw(65534)), None).unwrap();
            let third = load_or_create_token(&path).unwrap();
            assert_ne!(third, second);
            use std::os::unix::fs::MetadataExt;
            assert_eq!(fs::metadata(&path).unwrap().uid(), 0);
        }
        // A symbolic link planted in its place is replaced, and its target left alone.
        let target = dir.path().join("elsewhere");
        fs::write(&target, "a".repeat(64)).unwrap();
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let fourth = load_or_create_token(&path).unwrap();
        assert_ne!(fourth, "a".repeat(64));
        assert_eq!(fs::read_to_string(&target).unwrap(), "a".repeat(64));
        assert!(!fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
    }
}
