-- Voice: a tenant's SIP domain, the SIP accounts phones register with,
-- their registrations (bindings), trunks to telephony providers with their
-- registration state, and the DIDs (numbers) that reach the tenant.
CREATE TABLE voice_settings (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants(id),
    sip_domain TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    version    BIGINT NOT NULL
);
-- A SIP domain names one tenant: REGISTER and INVITE find the tenant by it.
CREATE UNIQUE INDEX voice_settings_sip_domain ON voice_settings (sip_domain);

CREATE TABLE sip_accounts (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    user_id    TEXT NOT NULL DEFAULT '',
    username   TEXT NOT NULL,
    active     BOOLEAN NOT NULL,
    password   TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    BIGINT NOT NULL
);
CREATE UNIQUE INDEX sip_accounts_username ON sip_accounts (tenant_id, username);

-- Bindings live in the store so that any node can find where a phone is;
-- each node keeps a cache. Expired rows are pruned.
CREATE TABLE sip_bindings (
    tenant_id  TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES sip_accounts(id) ON DELETE CASCADE,
    username   TEXT NOT NULL,
    contact    TEXT NOT NULL,
    source     TEXT NOT NULL,
    transport  TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    call_id    TEXT NOT NULL,
    cseq       BIGINT NOT NULL,
    node       TEXT NOT NULL,
    expires    TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, contact)
);
CREATE INDEX sip_bindings_tenant ON sip_bindings (tenant_id, username);
CREATE INDEX sip_bindings_expires ON sip_bindings (expires);

CREATE TABLE sip_trunks (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    mode       TEXT NOT NULL,
    active     BOOLEAN NOT NULL,
    config     TEXT NOT NULL,
    password   TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    BIGINT NOT NULL
);
CREATE UNIQUE INDEX sip_trunks_name ON sip_trunks (tenant_id, name);

CREATE TABLE sip_trunk_states (
    trunk_id   TEXT PRIMARY KEY REFERENCES sip_trunks(id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL,
    state      TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    expires    TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
);

-- A number reaches one tenant in the whole system.
CREATE TABLE dids (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    number      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL
);
CREATE UNIQUE INDEX dids_number ON dids (number);
CREATE INDEX dids_tenant ON dids (tenant_id, id);
