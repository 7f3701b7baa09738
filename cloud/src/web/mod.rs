//! The web pages, served by the service itself: sign-up, sign-in, the account, the generations
//! (decrypted in the browser: the page derives the keys from the password as the daemon does, so
//! the server still sees only ciphertext), the privacy settings, and the privacy policy. The pages'
//! scripts are built from `cloud/web` at compile time and embedded (`build.rs`); nothing is fetched
//! from anywhere else, at build time or run time, by the page.
//!
//! Every answer of the service carries the security headers (`security_headers`): a strict
//! Content-Security-Policy whose one allowance is `'wasm-unsafe-eval'` (argon2id runs in
//! WebAssembly), no framing, no referrer, no sniffing.

mod policy;
pub(crate) mod session;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::server::Service;

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The addresses the page's own router answers (each serves the same page, which shows its part).
const PAGES: [&str; 7] = ["/", "/signin", "/signup", "/recover", "/account", "/generations", "/settings"];

/// The Content-Security-Policy of every answer. Scripts, styles and everything else come from this
/// origin only, with no inline script or style; `'wasm-unsafe-eval'` lets argon2id's WebAssembly
/// compile; `blob:` lets a decrypted picture or model be shown and downloaded.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' blob: data:; connect-src 'self' blob:; font-src 'self'; \
     manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The routes of the pages and their files (the API's routes are the server's).
pub(crate) fn routes() -> Router<Service> {
    let mut router = Router::new()
        .route("/privacy", get(policy::page))
        .route("/assets/{*path}", get(asset))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }));
    for page in PAGES {
        router = router.route(page, get(index));
    }
    router
}

/// The page's shell; its script shows the part the address names.
async fn index() -> Response {
    match find("index.html") {
        Some(bytes) => html(bytes.to_vec()),
        None => ApiError::internal("the web pages were not built into this binary").into_response(),
    }
}

fn find(path: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(name, _)| *name == path).map(|(_, bytes)| *bytes)
}

/// A page answer: HTML that no cache keeps (it may name the signed-in person).
pub(crate) fn html(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

async fn asset(axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    let Some(bytes) = find(&path).filter(|_| path != "index.html") else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "there is nothing at this address").into_response();
    };
    let content_type = match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], bytes).into_response()
}

/// Adds the security headers to every answer, the API's included.
pub(crate) async fn security_headers(
    State(service): State<Service>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (header::HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if service.config.tls {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}
