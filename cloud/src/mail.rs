//! Mail: the verification link a new account (or a changed address) is sent, through the SMTP
//! server `[smtp]` in the configuration names. Without one — the zero-set-up default — accounts
//! are verified at once and the server says so when it starts. A link is a random token whose
//! SHA-256 the database keeps for a day; following it marks that address verified.

use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use serde_json::{Value, json};
use threedgpt_crypto::Key;

use crate::clock::now;
use crate::config::{Smtp, SmtpSecurity};
use crate::encoding::hex;
use crate::error::ApiError;
use crate::extract::{Body, Caller, Query, token_digest};
use crate::openapi::ErrorBody;
use crate::server::Service;

/// How long a verification link works.
const LINK_SECONDS: i64 = 24 * 3600;

/// Sends the service's mail.
pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    verify_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    pub(crate) fn new(smtp: &Smtp) -> anyhow::Result<Mailer> {
        let builder = match smtp.security {
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                .with_context(|| format!("could not use {} for mail", smtp.host))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .with_context(|| format!("could not use {} for mail", smtp.host))?,
            // Only for a relay on the same machine or a test sink: nothing is encrypted.
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        };
        let mut builder = builder.port(smtp.port);
        if let (Some(username), Some(password)) = (&smtp.username, &smtp.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        let from: Mailbox =
            smtp.from.parse().with_context(|| format!("smtp.from {:?} is not an address", smtp.from))?;
        Ok(Mailer { transport: builder.build(), from, verify_url: smtp.verify_url.clone() })
    }

    async fn send_verification(&self, to: &str, token: &str) -> anyhow::Result<()> {
        let separator = if self.verify_url.contains('?') { '&' } else { '?' };
        let link = format!("{}{separator}token={token}", self.verify_url);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.parse().context("the account's email is not a mail address")?)
            .subject("Verify your email for 3D GPT")
            .header(ContentType::TEXT_PLAIN)
            .body(format!(
                "Open this link to verify your email and turn on sync for your 3D GPT account:\n\n{link}\n\n\
                 The link works for 24 hours. If you did not sign up for 3D GPT, ignore this mail.\n"
            ))
            .context("could not write the mail")?;
        self.transport.send(message).await.context("the SMTP server did not take the mail")?;
        Ok(())
    }
}

/// Makes a verification link for `email` of `account` and mails it, in the background (so the
/// answer takes as long whether or not a mail goes out). Without SMTP there is nothing to do.
pub(crate) async fn start_verification(service: &Service, account: &str, email: &str) -> Result<(), ApiError> {
    let Some(mailer) = service.mailer.clone() else {
        return Ok(());
    };
    let token = hex(Key::random().map_err(ApiError::internal)?.as_bytes());
    sqlx::query("INSERT INTO email_verifications (token_hash, account_id, email, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_digest(&token))
        .bind(account)
        .bind(email)
        .bind(now() + LINK_SECONDS)
        .execute(&service.database)
        .await?;
    let (account, email) = (account.to_owned(), email.to_owned());
    tokio::spawn(async move {
        match mailer.send_verification(&email, &token).await {
            Ok(()) => tracing::info!(%account, "verification mail sent"),
            Err(error) => {
                tracing::error!(%account, error = format!("{error:#}"), "could not send the verification mail")
            }
        }
    });
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
pub(crate) struct Verification {
    /// The token from the mailed link.
    token: String,
}

async fn verify(service: &Service, token: &str) -> Result<Json<Value>, ApiError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT account_id, email FROM email_verifications WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_digest(token.trim()))
            .bind(now())
            .fetch_optional(&service.database)
            .await?;
    let (account, email) = row.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "this verification link is not valid or has expired: sign in and ask for a new one",
        )
    })?;
    // The address the link was sent to must still be the account's (not one changed since).
    let verified = sqlx::query("UPDATE accounts SET email_verified = 1 WHERE id = $1 AND email = $2")
        .bind(&account)
        .bind(&email)
        .execute(&service.database)
        .await?;
    sqlx::query("DELETE FROM email_verifications WHERE account_id = $1 AND email = $2")
        .bind(&account)
        .bind(&email)
        .execute(&service.database)
        .await?;
    if verified.rows_affected() == 0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "this link is for an address the account no longer uses",
        ));
    }
    tracing::info!(%account, "email verified");
    Ok(Json(json!({"status": "verified", "message": "your email is verified; sync is on"})))
}

/// `POST /v1/accounts/verify`: the token from the mailed link.
#[utoipa::path(
    post,
    path = "/v1/accounts/verify",
    tag = "accounts",
    request_body = Verification,
    responses((status = 200, description = "Verified", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
)]
pub(crate) async fn verify_posted(
    State(service): State<Service>,
    Body(request): Body<Verification>,
) -> Result<Json<Value>, ApiError> {
    verify(&service, &request.token).await
}

/// `GET /v1/accounts/verify?token=…`: the mailed link itself.
#[utoipa::path(
    get,
    path = "/v1/accounts/verify",
    tag = "accounts",
    params(Verification),
    responses((status = 200, description = "Verified", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
)]
pub(crate) async fn verify_link(
    State(service): State<Service>,
    Query(request): Query<Verification>,
) -> Result<Json<Value>, ApiError> {
    verify(&service, &request.token).await
}

/// `POST /v1/account/verification`: mail a new link to the account's address.
#[utoipa::path(
    post,
    path = "/v1/account/verification",
    tag = "accounts",
    responses((status = 202, description = "Sent, if the address still needs it", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn resend(
    State(service): State<Service>,
    caller: Caller,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (email, verified): (String, i64) = sqlx::query_as("SELECT email, email_verified FROM accounts WHERE id = $1")
        .bind(&caller.account)
        .fetch_one(&service.database)
        .await?;
    if verified == 0 {
        service.limits.account(&caller.account)?;
        start_verification(&service, &caller.account, &email).await?;
    }
    Ok((StatusCode::ACCEPTED, Json(json!({"status": "check_your_inbox"}))))
}
