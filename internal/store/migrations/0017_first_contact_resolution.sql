-- First-contact resolution (internal/report, fcr.go). fcr_resolutions holds
-- the resolved conversations a repeat contact can still count against: those
-- within the window (7 days by default) and, for each conversation, the
-- resolution that still stands (so that a later update of a resolved
-- conversation is not taken for a new resolution). fcr_stats holds the
-- counters per tenant, dimension (queue, channel, agent), key and 15-minute
-- interval: plain integer sums added in place. fcr_progress is the fold's
-- cursor over the stored events, moved in the same transaction.
CREATE TABLE fcr_resolutions (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    conversation_id TEXT NOT NULL,
    contact_id      TEXT NOT NULL,
    resolved_at     TIMESTAMPTZ NOT NULL,
    interval_start  TIMESTAMPTZ NOT NULL,
    queue_id        TEXT NOT NULL DEFAULT '',
    agent_id        TEXT NOT NULL DEFAULT '',
    channel         TEXT NOT NULL,
    standing        BOOLEAN NOT NULL,
    repeated        BOOLEAN NOT NULL
);
CREATE INDEX fcr_resolutions_conversation ON fcr_resolutions (tenant_id, conversation_id);
CREATE INDEX fcr_resolutions_contact ON fcr_resolutions (tenant_id, contact_id, resolved_at);
CREATE INDEX fcr_resolutions_age ON fcr_resolutions (resolved_at);

CREATE TABLE fcr_stats (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    dimension      TEXT NOT NULL,
    key            TEXT NOT NULL,
    interval_start TIMESTAMPTZ NOT NULL,
    resolved       BIGINT NOT NULL,
    repeated       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, dimension, key, interval_start)
);

CREATE TABLE fcr_progress (
    id            INTEGER PRIMARY KEY,
    last_event_id BIGINT NOT NULL
);
