-- The server's own secret (for the fake salts of emails with no account), in the database so
-- that every replica answers an unknown email alike.
CREATE TABLE server_secret (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    secret BYTEA NOT NULL
);
