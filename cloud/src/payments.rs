//! Pro through the payment provider's webhook, verified the way Stripe signs them: the
//! `Stripe-Signature` header's `t=…,v1=…` is HMAC-SHA256 over `t.payload`, computed on the raw
//! request bytes before anything parses them, with the endpoint's secret, within five minutes. A
//! replayed event id is ignored (the ids are kept in the shared database, so every replica sees
//! them). The account comes from the checkout's `client_reference_id`. We keep the provider's
//! customer and subscription ids and the subscription's status, never card data. Cancelling
//! keeps Pro until the period ends (the provider then sends `customer.subscription.deleted`);
//! data over the Free quota after that stays, read-only.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::clock::now;
use crate::encoding::hex;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::server::Service;

/// How far a signature's time may be from ours.
const TOLERANCE_SECONDS: i64 = 300;

fn refused(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_signature", message)
}

/// Checks `Stripe-Signature` against the raw `payload`.
pub(crate) fn verify(secret: &str, header: &str, payload: &[u8], at: i64) -> Result<(), ApiError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value.to_owned()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| refused("the Stripe-Signature header has no t= timestamp"))?;
    if (at - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(refused("the signature is more than five minutes from the server's time"));
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).map_err(ApiError::internal)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let expected = hex(&mac.finalize().into_bytes());
    if signatures.iter().any(|signature| threedgpt_crypto::same_secret(signature.as_bytes(), expected.as_bytes())) {
        Ok(())
    } else {
        Err(refused("no v1 signature in the Stripe-Signature header matches this payload"))
    }
}

fn text<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get(field).and_then(Value::as_str)
}

/// `POST /v1/payments/webhook`: one event from the payment provider.
#[utoipa::path(
    post,
    path = "/v1/payments/webhook",
    tag = "payments",
    request_body(content = Object, description = "The provider's signed event (Stripe-Signature header)"),
    responses((status = 200, description = "Applied, ignored or a duplicate", body = Object), (status = "default", description = "An error: `{code, message}`", body = ErrorBody)),
)]
pub(crate) async fn webhook(
    State(service): State<Service>,
    headers: HeaderMap,
    payload: Bytes,
) -> Result<Json<Value>, ApiError> {
    let secret = service.settings.payments.webhook_secret.as_deref().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "payments are not configured on this server")
    })?;
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| refused("a webhook needs its Stripe-Signature header"))?;
    verify(secret, signature, &payload, now())?;
    let event: Value = serde_json::from_slice(&payload)
        .map_err(|error| ApiError::invalid(format!("the signed event is not JSON: {error}")))?;
    let id = text(&event, "id").ok_or_else(|| ApiError::invalid("the event has no id"))?;
    let kind = text(&event, "type").ok_or_else(|| ApiError::invalid("the event has no type"))?;
    let object = event.pointer("/data/object").cloned().unwrap_or(Value::Null);

    let mut transaction = service.database.begin().await?;
    let first =
        sqlx::query("INSERT INTO webhook_events (id, type, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(kind)
            .bind(now())
            .execute(&mut *transaction)
            .await?;
    if first.rows_affected() == 0 {
        return Ok(Json(json!({"status": "duplicate"})));
    }
    let changed = match kind {
        "checkout.session.completed" => {
            let account = text(&object, "client_reference_id").unwrap_or_default();
            sqlx::query(
                "UPDATE accounts SET tier = 'pro', stripe_customer_id = $1, stripe_subscription_id = $2, \
                 subscription_status = 'active' WHERE id = $3",
            )
            .bind(text(&object, "customer"))
            .bind(text(&object, "subscription"))
            .bind(account)
            .execute(&mut *transaction)
            .await?
            .rows_affected()
        }
        "customer.subscription.updated" | "customer.subscription.deleted" => {
            let status = if kind.ends_with("deleted") { "canceled" } else { text(&object, "status").unwrap_or("") };
            // Pro while the subscription is paid for or in the provider's retries; Free after.
            let tier = if matches!(status, "active" | "trialing" | "past_due") { "pro" } else { "free" };
            sqlx::query("UPDATE accounts SET tier = $1, subscription_status = $2 WHERE stripe_subscription_id = $3")
                .bind(tier)
                .bind(status)
                .bind(text(&object, "id"))
                .execute(&mut *transaction)
                .await?
                .rows_affected()
        }
        "invoice.payment_failed" => {
            sqlx::query("UPDATE accounts SET subscription_status = 'past_due' WHERE stripe_subscription_id = $1")
                .bind(text(&object, "subscription"))
                .execute(&mut *transaction)
                .await?
                .rows_affected()
        }
        _ => {
            transaction.commit().await?;
            return Ok(Json(json!({"status": "ignored"})));
        }
    };
    transaction.commit().await?;
    if changed == 0 {
        tracing::warn!(event = %id, %kind, "a payment event named no account we have");
        return Ok(Json(json!({"status": "no_account"})));
    }
    tracing::info!(event = %id, %kind, "payment event applied");
    Ok(Json(json!({"status": "applied"})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, at: i64, payload: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{at}.").as_bytes());
        mac.update(payload);
        format!("t={at},v1={}", hex(&mac.finalize().into_bytes()))
    }

    #[test]
    fn signatures_are_checked_on_the_raw_bytes_and_the_time() {
        let payload = br#"{"id":"evt_1"}"#;
        let header = sign("whsec_test", 1_000, payload);
        assert!(verify("whsec_test", &header, payload, 1_100).is_ok());
        assert!(verify("whsec_test", &format!("v1=00,{header}"), payload, 1_100).is_ok(), "any v1 may match");
        assert!(verify("whsec_other", &header, payload, 1_100).is_err());
        assert!(verify("whsec_test", &header, br#"{"id": "evt_1"}"#, 1_100).is_err(), "re-serialised is tampered");
        assert!(verify("whsec_test", &header, payload, 1_000 + 301).is_err(), "stale");
        assert!(verify("whsec_test", "v1=abc", payload, 1_000).is_err());
    }
}
