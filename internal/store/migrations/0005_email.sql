-- The email channel: mailboxes (credentials sealed by internal/secrets), the
-- addresses atende's SMTP receiving server accepts, every message imported or
-- sent (idempotent import and threading), the outbound queue and the
-- auto-acknowledgement rate limit.
CREATE TABLE mailboxes (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    name          TEXT NOT NULL,
    address       TEXT NOT NULL,
    active        BOOLEAN NOT NULL,
    queue_id      TEXT NOT NULL,
    config        TEXT NOT NULL,
    imap_password TEXT NOT NULL DEFAULT '',
    smtp_password TEXT NOT NULL DEFAULT '',
    dkim_key      TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    version       BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- Recipient address or "@domain" -> mailbox, unique across tenants: one
-- address can only be one tenant's.
CREATE TABLE mail_recipients (
    recipient  TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE
);
CREATE INDEX mail_recipients_mailbox ON mail_recipients (mailbox_id);

-- One row per message in or out. The unique key makes an import idempotent:
-- written in the same transaction as the timeline entry.
CREATE TABLE mail_messages (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    mailbox_id      TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    direction       TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    raw_media_id    TEXT NOT NULL DEFAULT '',
    bounce          TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, mailbox_id, message_id)
);
CREATE INDEX mail_messages_thread ON mail_messages (tenant_id, message_id);
CREATE INDEX mail_messages_event ON mail_messages (tenant_id, event_id);

-- Outbound queue: a message waits here until the submission server takes it.
CREATE TABLE mail_outbox (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    mailbox_id      TEXT NOT NULL,
    conversation_id TEXT NOT NULL DEFAULT '',
    event_id        TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL,
    mail_from       TEXT NOT NULL,
    recipients      TEXT NOT NULL,
    raw_media_id    TEXT NOT NULL,
    kind            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
CREATE INDEX mail_outbox_conversation ON mail_outbox (tenant_id, conversation_id);

-- Auto-acknowledgements sent per sender, for the rate limit.
CREATE TABLE mail_autoreplies (
    tenant_id  TEXT NOT NULL,
    address    TEXT NOT NULL,
    sent_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX mail_autoreplies_sender ON mail_autoreplies (tenant_id, address, sent_at);
