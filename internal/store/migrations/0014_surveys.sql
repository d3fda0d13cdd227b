-- Post-contact surveys. survey_settings holds each tenant's policy (JSON of
-- atende.SurveySettings; a tenant without a row has the defaults).
-- survey_keys holds the per-tenant key that signs survey links, sealed by
-- internal/secrets. survey_requests is the durable schedule of survey emails:
-- one row per conversation, made when it is resolved, with the time it is
-- due; state scheduled -> sent or skipped (reason says why). survey_progress
-- is the scheduler's cursor over the stored events; it starts at the events
-- stored before this migration, so conversations resolved before surveys
-- existed are never surveyed.
CREATE TABLE survey_settings (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants(id),
    settings   TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    BIGINT NOT NULL
);

CREATE TABLE survey_keys (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants(id),
    sealed_key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE survey_requests (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    conversation_id TEXT NOT NULL,
    contact_id      TEXT NOT NULL,
    channel         TEXT NOT NULL,
    state           TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    due_at          TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    mail_id         TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, conversation_id)
);
CREATE INDEX survey_requests_due ON survey_requests (state, due_at);
CREATE INDEX survey_requests_contact ON survey_requests (tenant_id, contact_id, sent_at);

CREATE TABLE survey_progress (
    id            INTEGER PRIMARY KEY,
    last_event_id BIGINT NOT NULL
);
INSERT INTO survey_progress (id, last_event_id) SELECT 1, COALESCE(MAX(id), 0) FROM events;
