-- Anonymous telemetry from devices that opted in: a random install id and what happened, with no
-- account, no address and the time only to the hour. Purged after the configured time.
CREATE TABLE telemetry_events (
    install_id TEXT NOT NULL,
    event TEXT NOT NULL,
    duration_ms INTEGER,
    error_code TEXT,
    device_class TEXT,
    os TEXT,
    received_hour INTEGER NOT NULL
);

CREATE INDEX telemetry_by_hour ON telemetry_events(received_hour);
