"""Pro through signed payment webhooks on a real `3dgpt-cloud`, with fixtures signed here the way
Stripe signs them (HMAC-SHA256 over `t.payload` with the endpoint secret): valid, tampered,
stale, replayed and unknown events, cancellation at the end of the period, a failed payment, and
data over the Free quota kept read-only after a downgrade."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time

import pytest
from cloudclient import Account, Server, blob_name, seal

SECRET = "whsec_test_3dgpt"


@pytest.fixture
def cloud(tmp_path):
    config = tmp_path / "cloud.toml"
    config.write_text(
        f'[payments]\nwebhook_secret = "{SECRET}"\ncheckout_url = "https://pay.example/3dgpt"\n'
        "[tiers.free]\nbytes = 100000\ngenerations = 10\n"
    )
    server = Server(tmp_path / "cloud", "--config", str(config))
    yield server
    server.stop()


def event(kind: str, obj: dict, event_id: str | None = None) -> bytes:
    body = {"id": event_id or "evt_" + os.urandom(8).hex(), "type": kind, "data": {"object": obj}}
    return json.dumps(body, separators=(",", ":")).encode()


def signature(payload: bytes, at: int | None = None, secret: str = SECRET) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def deliver(cloud: Server, payload: bytes, header: str | None = None):
    """Posts an event, signed unless `header` says otherwise ("" sends no signature at all)."""
    header = signature(payload) if header is None else header
    headers = {"Content-Type": "application/json", **({"Stripe-Signature": header} if header else {})}
    return cloud.call("POST", "/v1/payments/webhook", payload, headers=headers)


def checkout(account: Account) -> bytes:
    return event(
        "checkout.session.completed",
        {"client_reference_id": account.id, "customer": "cus_1", "subscription": "sub_1", "mode": "subscription"},
    )


def tier(account: Account) -> str:
    return account.call("GET", "/v1/account")[1]["tier"]


def test_a_signed_checkout_grants_pro_and_nothing_else_does(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    status, account = ada.call("GET", "/v1/account")
    assert account["upgrade_url"] == f"https://pay.example/3dgpt?client_reference_id={ada.id}"

    payload = checkout(ada)
    tampered = payload.replace(b"cus_1", b"cus_2")
    status, body = deliver(cloud, tampered, signature(payload))
    assert status == 400 and body["code"] == "invalid_signature", body
    status, body = deliver(cloud, payload, signature(payload, int(time.time()) - 600))
    assert status == 400 and "five minutes" in body["message"], "a stale signature is refused"
    assert deliver(cloud, payload, signature(payload, secret="whsec_wrong"))[0] == 400
    status, body = deliver(cloud, payload, "")
    assert status == 400 and "Stripe-Signature" in body["message"], body
    assert tier(ada) == "free"

    assert deliver(cloud, payload) == (200, {"status": "applied"})
    status, account = ada.call("GET", "/v1/account")
    assert account["tier"] == "pro" and account["subscription_status"] == "active" and account["upgrade_url"] is None
    assert deliver(cloud, event("customer.created", {"id": "cus_1"})) == (200, {"status": "ignored"})


def test_a_replayed_event_is_ignored(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    granted = checkout(ada)
    assert deliver(cloud, granted)[1]["status"] == "applied"
    assert deliver(cloud, event("customer.subscription.deleted", {"id": "sub_1", "status": "canceled"}))[0] == 200
    assert tier(ada) == "free"
    # The same checkout event again, freshly signed: it was handled once and is not again.
    assert deliver(cloud, granted) == (200, {"status": "duplicate"})
    assert tier(ada) == "free"


def test_cancelling_keeps_pro_to_the_period_end_and_over_quota_data_stays_read_only(cloud):
    ada = Account(cloud, "ada@example.org").signup().login()
    deliver(cloud, checkout(ada))
    big = seal(ada.data_key, os.urandom(150_000))
    assert ada.call("PUT", f"/v1/blobs/{blob_name(big)}", big)[0] == 201, "Pro holds more than Free's 100 kB"

    cancelled = {"id": "sub_1", "status": "active", "cancel_at_period_end": True}
    assert deliver(cloud, event("customer.subscription.updated", cancelled))[1]["status"] == "applied"
    assert tier(ada) == "pro", "Pro until the period ends"
    failed = event("invoice.payment_failed", {"subscription": "sub_1", "customer": "cus_1"})
    assert deliver(cloud, failed)[1]["status"] == "applied"
    status, account = ada.call("GET", "/v1/account")
    assert account["tier"] == "pro" and account["subscription_status"] == "past_due"

    assert deliver(cloud, event("customer.subscription.deleted", {"id": "sub_1", "status": "canceled"}))[0] == 200
    assert tier(ada) == "free"
    assert ada.call("GET", f"/v1/blobs/{blob_name(big)}")[1] == big, "the data is kept"
    small = seal(ada.data_key, b"one more")
    status, body = ada.call("PUT", f"/v1/blobs/{blob_name(small)}", small)
    assert status == 403 and body["code"] == "quota_exceeded" and "upgrade to Pro" in body["message"], body


def test_without_a_secret_the_webhook_is_off(tmp_path):
    cloud = Server(tmp_path / "cloud")
    try:
        payload = event("checkout.session.completed", {"client_reference_id": "acct_x"})
        assert deliver(cloud, payload)[0] == 404
    finally:
        cloud.stop()
