//! The web pages' session. The page derives the auth key from the password in the browser (as the
//! daemon does) and signs in with it; the answer sets one cookie: HttpOnly, SameSite=Strict, a
//! session cookie (gone when the browser closes), `Secure` with the `__Host-` prefix when the
//! service serves TLS. Its token names a session row like a device's (listed and revocable with
//! them), which lives while it is used (`IDLE_SECONDS` after the last request).
//!
//! Every request that changes something and is signed in by the cookie must carry the session's
//! CSRF token in `X-CSRF-Token` — HMAC-SHA256 of the session id under the server's secret, which
//! only a page of this origin can read (from the sign-in answer or `GET /v1/web/session`) — and,
//! when the browser names its origin, come from this one.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use threedgpt_crypto::{Key, same_secret};

use crate::clock::now;
use crate::encoding::hex;
use crate::error::ApiError;
use crate::extract::{Body, Caller, token_digest};
use crate::network::ClientAddress;
use crate::openapi::ErrorBody;
use crate::server::Service;
use crate::sessions::{SessionLabels, WebAccess, open_session, revoke};

/// How long a web session lives after its last request.
pub(crate) const IDLE_SECONDS: i64 = 12 * 3600;

/// The cookie's name over plain HTTP (loopback, a proxy's inside) and over TLS.
const COOKIE: &str = "3dgpt_session";
const SECURE_COOKIE: &str = "__Host-3dgpt_session";

/// The header that carries the CSRF token.
const CSRF_HEADER: &str = "x-csrf-token";

/// The session cookie's token, if the request carries one.
pub(crate) fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE || *name == SECURE_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The session's CSRF token.
pub(crate) fn csrf_token(service: &Service, session: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&service.secret).expect("HMAC takes any key length");
    mac.update(b"3dgpt v1 csrf\0");
    mac.update(session.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Refuses a request from another site: when the browser names the origin (it does on every
/// request that changes something), it must be this server's: the `Host` it was sent to, or the
/// `X-Forwarded-Host` a reverse proxy that rewrites `Host` names (a page on another site cannot set
/// that header without a CORS preflight, which this server never grants).
fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) else {
        return Ok(());
    };
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    let named = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    let ours = [named("host"), named("x-forwarded-host")]
        .into_iter()
        .flatten()
        .any(|host| !host.is_empty() && origin_host.eq_ignore_ascii_case(host));
    if !ours {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "this request came from another site's page; use this server's own pages",
        ));
    }
    Ok(())
}

/// What a request signed in by the cookie must show besides it: nothing to read, and to change
/// anything, this origin and the session's CSRF token.
pub(crate) fn check_request(
    service: &Service,
    session: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    check_origin(headers)?;
    let sent = headers.get(CSRF_HEADER).map(HeaderValue::as_bytes).unwrap_or_default();
    if !same_secret(sent, csrf_token(service, session).as_bytes()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "this request lacks the page's CSRF token (X-CSRF-Token); reload the page and try again",
        ));
    }
    Ok(())
}

/// The browser and system a User-Agent names, for the list of sessions.
fn browser_labels(user_agent: &str) -> SessionLabels {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("HeadlessChrome/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(mark, _)| user_agent.contains(mark))
    .map_or("a browser", |(_, name)| name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(mark, _)| user_agent.contains(mark))
    .map_or("", |(_, name)| name);
    SessionLabels { device_name: format!("Web ({browser})"), os: os.to_owned(), client_version: "web".to_owned() }
}

/// The cookie that carries `token` (or, empty, removes it).
fn cookie(service: &Service, token: &str) -> HeaderValue {
    let (name, secure) = if service.config.tls { (SECURE_COOKIE, "; Secure") } else { (COOKIE, "") };
    let lifetime = if token.is_empty() { "; Max-Age=0" } else { "" };
    HeaderValue::from_str(&format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict{secure}{lifetime}"))
        .expect("a hex token makes a valid header")
}

/// What the page learns of its session: which it is, whose, and its CSRF token.
fn signed_in(service: &Service, session: &str, account: &str) -> serde_json::Value {
    json!({
        "signed_in": true, "session_id": session, "account_id": account,
        "csrf_token": csrf_token(service, session), "idle_seconds": IDLE_SECONDS,
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct WebSignIn {
    email: String,
    /// The auth key the page derived from the password (`docs/crypto.md`), in hex.
    auth_key: String,
}

/// `POST /v1/web/session`: signs the web pages in with the auth key; the answer sets the session
/// cookie and gives the CSRF token.
#[utoipa::path(
    post,
    path = "/v1/web/session",
    tag = "web",
    request_body = WebSignIn,
    responses(
        (status = 200, description = "Signed in: the session, the account and the CSRF token; the session cookie is set", body = Object),
        (status = "default", description = "An error: `{code, message}`", body = ErrorBody),
    ),
)]
pub(crate) async fn sign_in(
    State(service): State<Service>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Body(request): Body<WebSignIn>,
) -> Result<Response, ApiError> {
    // Another site's page must not sign a visitor in to an account of its choosing.
    check_origin(&headers)?;
    let account = crate::sessions::authenticate(&service, address, &request.email, &request.auth_key).await?;
    let token = hex(Key::random().map_err(ApiError::internal)?.as_bytes());
    let user_agent = headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let access = WebAccess { token_digest: token_digest(&token), expires_at: now() + IDLE_SECONDS };
    let session = open_session(&service, &account, &browser_labels(user_agent), Some(access)).await?;
    let body = signed_in(&service, &session, &account);
    Ok((
        [(header::SET_COOKIE, cookie(&service, &token)), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    )
        .into_response())
}

/// `GET /v1/web/session`: whether the cookie names a live web session, and if so which, with its
/// CSRF token (a page that was reloaded asks for it again). Signed out is an answer, not an error,
/// so a page's first look leaves no failed request behind.
#[utoipa::path(
    get,
    path = "/v1/web/session",
    tag = "web",
    responses(
        (status = 200, description = "`signed_in`, and when signed in the session, the account and the CSRF token", body = Object),
        (status = "default", description = "An error: `{code, message}`", body = ErrorBody),
    ),
)]
pub(crate) async fn current(
    State(service): State<Service>,
    headers: HeaderMap,
    caller: Result<Caller, ApiError>,
) -> Result<Response, ApiError> {
    let body = match caller {
        Ok(caller) if cookie_token(&headers).is_some() => signed_in(&service, &caller.session, &caller.account),
        Ok(_) => json!({"signed_in": false}),
        Err(error) if error.status == StatusCode::UNAUTHORIZED => json!({"signed_in": false}),
        Err(error) => return Err(error),
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// `DELETE /v1/web/session`: signs the web pages out: the session ends and the cookie goes (a
/// cookie whose session already ended is removed too).
#[utoipa::path(
    delete,
    path = "/v1/web/session",
    tag = "web",
    responses(
        (status = 204, description = "Signed out; the cookie is removed"),
        (status = "default", description = "An error: `{code, message}`", body = ErrorBody),
    ),
)]
pub(crate) async fn sign_out(
    State(service): State<Service>,
    headers: HeaderMap,
    caller: Result<Caller, ApiError>,
) -> Result<Response, ApiError> {
    match caller {
        Ok(caller) if cookie_token(&headers).is_some() => revoke(&service, &caller.session).await?,
        // A device's bearer token is not this call's to end (`DELETE /v1/sessions/current` is).
        Ok(_) => {}
        Err(error) if error.status == StatusCode::UNAUTHORIZED => {}
        Err(error) => return Err(error),
    }
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie(&service, ""))]).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_an_empty_one_is_none() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("theme=dark; 3dgpt_session=abc123; other=1"));
        assert_eq!(cookie_token(&headers).as_deref(), Some("abc123"));
        headers.insert(header::COOKIE, HeaderValue::from_static("__Host-3dgpt_session=def"));
        assert_eq!(cookie_token(&headers).as_deref(), Some("def"));
        headers.insert(header::COOKIE, HeaderValue::from_static("3dgpt_session=; x=y"));
        assert_eq!(cookie_token(&headers), None);
    }

    #[test]
    fn another_sites_origin_is_refused_and_this_one_is_not() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8787"));
        assert!(check_origin(&headers).is_ok(), "no Origin: a same-origin GET, or not a browser");
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8787"));
        assert!(check_origin(&headers).is_ok());
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert_eq!(check_origin(&headers).unwrap_err().code, "cross_site");
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert_eq!(check_origin(&headers).unwrap_err().code, "cross_site");
        // Behind a proxy that rewrites Host, the host the browser used comes as X-Forwarded-Host.
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://cloud.example.org"));
        assert_eq!(check_origin(&headers).unwrap_err().code, "cross_site");
        headers.insert("x-forwarded-host", HeaderValue::from_static("cloud.example.org"));
        assert!(check_origin(&headers).is_ok());
    }

    #[test]
    fn browsers_are_named_for_the_list_of_sessions() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        let labels = browser_labels(chrome);
        assert_eq!((labels.device_name.as_str(), labels.os.as_str()), ("Web (Chrome)", "Linux"));
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0";
        let labels = browser_labels(firefox);
        assert_eq!((labels.device_name.as_str(), labels.os.as_str()), ("Web (Firefox)", "Windows"));
        assert_eq!(browser_labels("").device_name, "Web (a browser)");
    }
}
