-- Links mailed to verify an email address (sign-up or a change): the token's SHA-256, the address
-- it was sent to, and when it stops working.
CREATE TABLE email_verifications (
    token_hash BYTEA PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX email_verifications_by_account ON email_verifications(account_id);
