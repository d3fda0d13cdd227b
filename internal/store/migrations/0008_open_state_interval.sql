-- Closing an agent's open state interval must not visit every interval the
-- agent ever had: index the open one (at most one per agent).
CREATE INDEX agent_state_history_open ON agent_state_history (tenant_id, user_id) WHERE ended_at IS NULL;
