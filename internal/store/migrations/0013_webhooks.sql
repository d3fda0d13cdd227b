-- Outgoing webhooks: endpoints of integrators that receive the tenant's
-- events. Each keeps its own cursor into the events table and its delivery
-- state; a lease names the node delivering it, so that only one does.
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    active          BOOLEAN NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    secret          TEXT NOT NULL,
    state           TEXT NOT NULL,
    last_event_id   BIGINT NOT NULL,
    failures        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    last_success_at TIMESTAMPTZ,
    last_failure_at TIMESTAMPTZ,
    lease_holder    TEXT NOT NULL DEFAULT '',
    lease_until     TIMESTAMPTZ NOT NULL,
    lease_epoch     BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    version         BIGINT NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id);
CREATE INDEX webhooks_due ON webhooks (active, state, next_attempt_at);

-- The latest delivery attempts of each webhook (the store keeps 100).
CREATE TABLE webhook_deliveries (
    id          IDENTITY,
    tenant_id   TEXT NOT NULL,
    webhook_id  TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id    BIGINT NOT NULL,
    event_type  TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    duration_ms BIGINT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
