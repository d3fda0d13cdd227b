-- IVR call flows: one row per flow, its graph of nodes kept as JSON
-- (atende.Flow's language, entry, nodes and preset). Names are unique per
-- tenant so administrators and DID mappings can tell flows apart.
CREATE TABLE voice_flows (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
