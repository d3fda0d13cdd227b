-- The web chat channel: widgets tenants embed on their sites, one chat
-- session per conversation a visitor opened (with the read marks of both
-- sides and the task that routes it), the key that signs visitor tokens
-- (sealed by internal/secrets) and the satisfaction surveys customers answer.
CREATE TABLE chat_widgets (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    active     BOOLEAN NOT NULL,
    queue_id   TEXT NOT NULL,
    config     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE chat_sessions (
    conversation_id  TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    widget_id        TEXT NOT NULL,
    visitor_id       TEXT NOT NULL,
    contact_id       TEXT NOT NULL,
    task_id          TEXT NOT NULL DEFAULT '',
    language         TEXT NOT NULL DEFAULT '',
    page_url         TEXT NOT NULL DEFAULT '',
    visitor_read_seq BIGINT NOT NULL DEFAULT 0,
    agent_read_seq   BIGINT NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL,
    ended_at         TIMESTAMPTZ
);
CREATE INDEX chat_sessions_visitor ON chat_sessions (tenant_id, widget_id, visitor_id);
CREATE INDEX chat_sessions_task ON chat_sessions (tenant_id, task_id);

-- One signing key per tenant, random, sealed with the server's secret key.
CREATE TABLE chat_keys (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants(id),
    sealed_key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Customer satisfaction answers (CSAT 1-5, NPS 0-10): one per conversation
-- and kind. Reports read them.
CREATE TABLE surveys (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    conversation_id TEXT NOT NULL,
    agent_id        TEXT NOT NULL DEFAULT '',
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    score           INTEGER NOT NULL,
    comment         TEXT NOT NULL DEFAULT '',
    at              TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, conversation_id, kind)
);
CREATE INDEX surveys_at ON surveys (tenant_id, at);
