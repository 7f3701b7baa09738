-- What the payment provider told us about an account's subscription (never card data), and the
-- webhook events already handled, so that a replayed one is ignored by every replica.
ALTER TABLE accounts ADD COLUMN stripe_customer_id TEXT;
ALTER TABLE accounts ADD COLUMN stripe_subscription_id TEXT;
ALTER TABLE accounts ADD COLUMN subscription_status TEXT;

CREATE INDEX accounts_by_subscription ON accounts(stripe_subscription_id);

CREATE TABLE webhook_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
