-- atende schema, written once for both SQLite and PostgreSQL. The migrator
-- rewrites TIMESTAMPTZ and IDENTITY for SQLite; everything else is common SQL.
-- Every table but tenants carries tenant_id and every query filters on it.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    language    TEXT NOT NULL,
    locale      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1
);

-- Per-tenant running numbers (protocol numbers).
CREATE TABLE counters (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    value       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL DEFAULT '',
    roles         TEXT NOT NULL,            -- JSON array
    language      TEXT NOT NULL DEFAULT '',
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    capacity      TEXT NOT NULL,            -- JSON object channel -> max
    last_login_at TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    version       BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, email)
);
CREATE INDEX users_email ON users (email);

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);

CREATE TABLE team_members (
    tenant_id   TEXT NOT NULL,
    team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (tenant_id, user_id);

CREATE TABLE skills (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);

CREATE TABLE agent_skills (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    skill_id    TEXT NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
    proficiency INTEGER NOT NULL CHECK (proficiency BETWEEN 1 AND 10),
    PRIMARY KEY (user_id, skill_id)
);
CREATE INDEX agent_skills_skill ON agent_skills (tenant_id, skill_id);

CREATE TABLE reason_codes (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    code        TEXT NOT NULL,
    labels      TEXT NOT NULL,              -- JSON object language -> label
    paid        BOOLEAN NOT NULL DEFAULT FALSE,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, code)
);

-- Current state of each agent; one row per user.
CREATE TABLE agent_states (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    reason_code TEXT NOT NULL DEFAULT '',
    since       TIMESTAMPTZ NOT NULL
);

-- Durable history: one row per interval in a state.
CREATE TABLE agent_state_history (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    reason_code TEXT NOT NULL DEFAULT '',
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ,
    changed_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX agent_state_history_user ON agent_state_history (tenant_id, user_id, started_at);

CREATE TABLE queues (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    channels         TEXT NOT NULL,         -- JSON array
    skills           TEXT NOT NULL,         -- JSON array of {skill_id, min_proficiency}
    sl_target_pct    INTEGER NOT NULL,
    sl_threshold_sec INTEGER NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    max_wait_sec     INTEGER NOT NULL DEFAULT 0,
    team_ids         TEXT NOT NULL,         -- JSON array
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);

CREATE TABLE field_defs (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    key         TEXT NOT NULL,
    labels      TEXT NOT NULL,
    type        TEXT NOT NULL,
    options     TEXT NOT NULL,              -- JSON array
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, key)
);

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL DEFAULT '',
    language    TEXT NOT NULL DEFAULT '',
    fields      TEXT NOT NULL,              -- JSON object
    tags        TEXT NOT NULL,              -- JSON array
    merged_into TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX contacts_tenant ON contacts (tenant_id, id);
CREATE INDEX contacts_name ON contacts (tenant_id, name);

CREATE TABLE contact_identities (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    contact_id  TEXT NOT NULL REFERENCES contacts(id),
    kind        TEXT NOT NULL,
    network     TEXT NOT NULL DEFAULT '',
    value       TEXT NOT NULL,
    verified    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, kind, network, value)
);
CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

CREATE TABLE contact_merges (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    winner_id        TEXT NOT NULL,
    loser_id         TEXT NOT NULL,
    identity_ids     TEXT NOT NULL,
    conversation_ids TEXT NOT NULL,
    loser_snapshot   TEXT NOT NULL,
    winner_snapshot  TEXT NOT NULL,
    merged_by        TEXT NOT NULL,
    merged_at        TIMESTAMPTZ NOT NULL,
    undone_at        TIMESTAMPTZ,
    undone_by        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX contact_merges_tenant ON contact_merges (tenant_id, merged_at);

CREATE TABLE dispositions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    code         TEXT NOT NULL,
    labels       TEXT NOT NULL,
    category     TEXT NOT NULL DEFAULT '',
    resolves     BOOLEAN NOT NULL DEFAULT FALSE,
    require_note BOOLEAN NOT NULL DEFAULT FALSE,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    version      BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, code)
);

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    protocol         TEXT NOT NULL,
    contact_id       TEXT NOT NULL REFERENCES contacts(id),
    subject          TEXT NOT NULL DEFAULT '',
    channel          TEXT NOT NULL,
    channels         TEXT NOT NULL,         -- JSON array
    status           TEXT NOT NULL,
    assignee_id      TEXT NOT NULL DEFAULT '',
    queue_id         TEXT NOT NULL DEFAULT '',
    priority         INTEGER NOT NULL DEFAULT 0,
    tags             TEXT NOT NULL,         -- JSON array
    disposition_id   TEXT NOT NULL DEFAULT '',
    last_event_seq   BIGINT NOT NULL DEFAULT 0,
    last_activity_at TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    closed_at        TIMESTAMPTZ,
    version          BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, protocol)
);
CREATE INDEX conversations_contact ON conversations (tenant_id, contact_id);
CREATE INDEX conversations_status ON conversations (tenant_id, status, id);
CREATE INDEX conversations_assignee ON conversations (tenant_id, assignee_id, id);

CREATE TABLE conversation_events (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL DEFAULT '',
    direction       TEXT NOT NULL DEFAULT '',
    author_kind     TEXT NOT NULL,
    author_id       TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',
    data            TEXT NOT NULL DEFAULT '',
    client_id       TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (conversation_id, client_id)
);

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    actor_name  TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before_json TEXT NOT NULL DEFAULT '',
    after_json  TEXT NOT NULL DEFAULT '',
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,      -- SHA-256 of the secret
    scopes       TEXT NOT NULL,             -- JSON array; empty: the user's permissions
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, id);

CREATE TABLE sessions (
    hash        TEXT PRIMARY KEY,           -- SHA-256 of the cookie value
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Stored responses of creates sent with an Idempotency-Key.
CREATE TABLE idempotency_keys (
    tenant_id    TEXT NOT NULL,
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, principal, key)
);

-- The outbox of domain events: written in the same transaction as the change.
CREATE TABLE events (
    id          IDENTITY,
    tenant_id   TEXT NOT NULL,
    type        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    perm        TEXT NOT NULL,
    data        TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, id);
