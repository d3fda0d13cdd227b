-- How the routing engine runs each queue (strategy, timers, actions,
-- business hours, escalation steps), as JSON.
ALTER TABLE queues ADD COLUMN routing TEXT NOT NULL DEFAULT '{}';
