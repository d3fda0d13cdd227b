-- The wallboard's alerts while they last: one row per queue and kind. A
-- node raises or clears an alert by changing its row, in the transaction
-- that stores the alert.raised or alert.cleared event, so several nodes (or
-- a restart) never announce the same alert twice.
CREATE TABLE wallboard_alerts (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    queue_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    level      TEXT NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    threshold  DOUBLE PRECISION NOT NULL,
    since      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, queue_id, kind)
);
