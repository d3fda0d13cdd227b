-- Routing: every task the engine routes, its latest state (the full task as
-- JSON in data), and the lease that lets one node own a tenant's routing.

CREATE TABLE tasks (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    queue_id        TEXT NOT NULL,
    conversation_id TEXT NOT NULL DEFAULT '',
    channel         TEXT NOT NULL,
    state           TEXT NOT NULL,
    agent_id        TEXT NOT NULL DEFAULT '',
    outcome         TEXT NOT NULL DEFAULT '',
    priority        INTEGER NOT NULL DEFAULT 0,
    enqueued_at     TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    ended_at        TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX tasks_live ON tasks (tenant_id, state);
CREATE INDEX tasks_conversation ON tasks (tenant_id, conversation_id);

CREATE TABLE routing_leases (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id),
    holder      TEXT NOT NULL,
    epoch       BIGINT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

-- What the agent chose (available, away with a reason, offline), apart from
-- what the agent is doing (status: busy and wrap_up follow the work).
ALTER TABLE agent_states ADD COLUMN presence TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_states ADD COLUMN presence_reason TEXT NOT NULL DEFAULT '';
