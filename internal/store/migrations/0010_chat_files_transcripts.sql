-- Web chat: when the visitor was last connected or active (the idle
-- timeout ends chats whose visitor went away) and how many transcripts the
-- visitor asked to be emailed (a few per conversation at most).
ALTER TABLE chat_sessions ADD COLUMN visitor_seen_at TIMESTAMPTZ;
ALTER TABLE chat_sessions ADD COLUMN transcripts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX chat_sessions_open ON chat_sessions (tenant_id, ended_at, visitor_seen_at);
