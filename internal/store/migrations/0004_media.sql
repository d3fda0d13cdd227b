-- Files conversations carry (attachments, inline images, recordings); the
-- content lives in the media store under the data directory.
CREATE TABLE media (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX media_tenant ON media (tenant_id, id);
