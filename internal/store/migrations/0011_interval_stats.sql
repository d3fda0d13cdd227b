-- Interval statistics: counters per tenant, dimension (queue, channel, agent,
-- disposition), key and 15-minute interval, folded incrementally from the
-- stored events (internal/report). data holds the counters as JSON (they are
-- summed in Go, never averaged in SQL). stats_progress is the fold's cursor
-- and memory (open tasks, agents' states), written in the same transaction
-- as the rows it produced, so a crash repeats nothing and skips nothing.
CREATE TABLE interval_stats (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    dimension      TEXT NOT NULL,
    key            TEXT NOT NULL,
    interval_start TIMESTAMPTZ NOT NULL,
    data           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, dimension, key, interval_start)
);
CREATE INDEX interval_stats_by_time ON interval_stats (tenant_id, dimension, interval_start);

CREATE TABLE stats_progress (
    id            INTEGER PRIMARY KEY,
    last_event_id BIGINT NOT NULL,
    state         TEXT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
