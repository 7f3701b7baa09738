-- Accounts, their sessions and their synced generations. The server holds no password and no key
-- that opens a user's data: argon2id(auth key) under the server's own salt, the data key only
-- wrapped (twice), SHA-256 of the recovery verifier, and sealed records and blobs. Tokens are
-- stored as their SHA-256. The PostgreSQL schema (../postgres) is this one with its own types.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    country TEXT,
    kdf_salt BLOB NOT NULL,
    kdf_memory_kib INTEGER NOT NULL,
    kdf_iterations INTEGER NOT NULL,
    kdf_parallelism INTEGER NOT NULL,
    auth_salt BLOB NOT NULL,
    auth_hash BLOB NOT NULL,
    wrapped_data_key BLOB NOT NULL,
    recovery_wrapped_data_key BLOB NOT NULL,
    recovery_verifier_digest BLOB NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    tier TEXT NOT NULL DEFAULT 'free',
    -- The last change number handed out: records' `seq` count up from it, per account.
    change_seq INTEGER NOT NULL DEFAULT 0,
    -- Tombstones up to this change number were purged: an older cursor needs a full reconcile.
    purged_seq INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    access_hash BLOB NOT NULL UNIQUE,
    access_expires_at INTEGER NOT NULL,
    device_name TEXT NOT NULL,
    os TEXT NOT NULL,
    client_version TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX sessions_by_account ON sessions(account_id);

-- Every refresh token a session was given: the live one has no `replaced_at`. A replaced one
-- presented again (after the grace period) revokes the session, the family they all belong to.
CREATE TABLE refresh_tokens (
    hash BLOB PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    replaced_at INTEGER,
    -- The token that replaced this one (a retry within the grace period may replace it again).
    replaced_by BLOB
);

CREATE INDEX refresh_tokens_by_session ON refresh_tokens(session_id);

-- Sealed blobs (input picture, GLB, thumbnail), named by the SHA-256 of their ciphertext. The
-- bytes live in the blob store under `account id/name`.
CREATE TABLE blobs (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);

-- Generation records, sealed on the device; a deleted one is a tombstone (`sealed` emptied,
-- `deleted_at` set) until it is purged.
CREATE TABLE records (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    -- The blobs it refers to, space-separated (record_blobs has them one per row).
    blobs TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,
    PRIMARY KEY (account_id, id)
);

CREATE INDEX records_by_change ON records(account_id, seq);

-- Which blobs a record refers to (a blob no live record refers to is deleted with its last one).
CREATE TABLE record_blobs (
    account_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    blob_name TEXT NOT NULL,
    PRIMARY KEY (account_id, record_id, blob_name),
    FOREIGN KEY (account_id, record_id) REFERENCES records(account_id, id) ON DELETE CASCADE
);

CREATE INDEX record_blobs_by_blob ON record_blobs(account_id, blob_name);
