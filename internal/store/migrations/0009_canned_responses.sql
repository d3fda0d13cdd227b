-- Canned responses: ready answers agents insert in the composer by shortcut.
-- Shared ones belong to the tenant (owner_id empty); personal ones to one
-- user, whom alone they show to. A shortcut is unique per scope and owner.
CREATE TABLE canned_responses (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    scope      TEXT NOT NULL,
    owner_id   TEXT NOT NULL DEFAULT '',
    shortcut   TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    language   TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, scope, owner_id, shortcut)
);

-- The customer's unified history reads every timeline entry of a contact,
-- newest first, across all their conversations. Each entry carries its
-- conversation's contact (kept in step by merges and their undo), so one
-- index range serves a page however many conversations and entries the
-- contact has.
ALTER TABLE conversation_events ADD COLUMN contact_id TEXT NOT NULL DEFAULT '';
UPDATE conversation_events SET contact_id = (SELECT c.contact_id FROM conversations c WHERE c.id = conversation_events.conversation_id);
CREATE INDEX conversation_events_contact ON conversation_events (tenant_id, contact_id, id);
