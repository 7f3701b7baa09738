//! What handlers take from a request: a JSON body, the query string and the path's parameters,
//! whose faults answer in the API's own `{code, message}` form, and the caller — the account and session behind a live access token,
//! checked on every request so that a revoked session stops at once.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::clock::now;
use crate::error::ApiError;
use crate::server::Service;

/// A JSON request body. Unknown fields are ignored, so newer clients work with older servers.
pub(crate) struct Body<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Body<T>, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(rejected(rejection)),
        }
    }
}

fn rejected(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "this call takes a JSON body: send it with Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(error) => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("the body is not valid JSON: {error}"))
        }
        JsonRejection::JsonDataError(error) => {
            ApiError::invalid(format!("the body is not what this call takes: {}", error.body_text()))
        }
        rejection if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is larger than this call accepts",
        ),
        rejection => ApiError::invalid(format!("the body could not be read: {}", rejection.body_text())),
    }
}

/// A query string, whose faults answer `{code, message}` too.
pub(crate) struct Query<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Query<T>, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(ApiError::invalid(format!(
                "the query string is not what this call takes: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// The parameters in a request's path, whose faults answer `{code, message}` too.
pub(crate) struct Path<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Path<T>, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => {
                Err(ApiError::invalid(format!("the address is not what this call takes: {}", rejection.body_text())))
            }
        }
    }
}

/// The SHA-256 the database keeps of a bearer token.
pub(crate) fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// How often a session's "last seen" is written (not on every request: reads stay reads).
const LAST_SEEN_RESOLUTION_SECONDS: i64 = 60;

/// The account and session of a request with a live access token: a device's bearer token, or the
/// web pages' session cookie, whose requests that change anything must also carry the session's
/// CSRF token (see [`crate::web::session`]).
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) account: String,
    pub(crate) session: String,
}

impl FromRequestParts<Service> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Caller, ApiError> {
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        let (token, web) = match bearer {
            Some(token) => (token.to_owned(), false),
            None => (crate::web::session::cookie_token(&parts.headers).ok_or_else(ApiError::unauthenticated)?, true),
        };
        let at = now();
        let row: Option<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, account_id, last_seen_at, web FROM sessions \
             WHERE access_hash = $1 AND revoked = 0 AND access_expires_at > $2",
        )
        .bind(token_digest(&token))
        .bind(at)
        .fetch_optional(&service.database)
        .await?;
        // A cookie's token is no bearer token and a device's token no cookie.
        let (session, account, last_seen, _) =
            row.filter(|row| (row.3 != 0) == web).ok_or_else(ApiError::unauthenticated)?;
        if web {
            crate::web::session::check_request(service, &session, &parts.method, &parts.headers)?;
        }
        if at - last_seen >= LAST_SEEN_RESOLUTION_SECONDS {
            // A web session lives while it is used; a device's token lapses when it was issued to.
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $1, \
                 access_expires_at = CASE WHEN web = 1 THEN $2 ELSE access_expires_at END WHERE id = $3",
            )
            .bind(at)
            .bind(at + crate::web::session::IDLE_SECONDS)
            .bind(&session)
            .execute(&service.database)
            .await?;
        }
        Ok(Caller { account, session })
    }
}
