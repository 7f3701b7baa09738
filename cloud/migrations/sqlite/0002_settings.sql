-- Account settings (history stays per device) and the record of every change of training consent.
ALTER TABLE accounts ADD COLUMN settings_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN sync_enabled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN telemetry INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN training_consent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN marketing_email INTEGER NOT NULL DEFAULT 0;

CREATE TABLE consent_history (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- The settings version the change made (orders the history).
    version INTEGER NOT NULL,
    at INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    training_consent INTEGER NOT NULL
);

CREATE INDEX consent_history_by_account ON consent_history(account_id, at);
