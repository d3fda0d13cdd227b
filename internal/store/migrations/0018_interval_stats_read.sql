-- Reports read a tenant's rows of one dimension over a range of intervals,
-- in order of interval then key: a month of one busy tenant by interval is
-- some 10^5 queue rows. The index by time now ends with the key, so the rows
-- come out in the report's order with no sort (PostgreSQL sorted them on
-- disk). Queue and channel rows, the ones the queue and channel reports
-- read, are also kept whole in a partial index: those reports read it alone,
-- in order, instead of one table page per row (the rows of a dimension are
-- scattered among the far more numerous agent rows). Their counters are a
-- few hundred bytes, well within an index entry; agent rows, which carry
-- away time per reason, are not in it. The store names the dimension as a
-- literal in those queries so that both databases can use the partial index
-- (SQLite proves that from a term of the query equal to one side of an OR,
-- not from IN).
DROP INDEX interval_stats_by_time;
CREATE INDEX interval_stats_by_time ON interval_stats (tenant_id, dimension, interval_start, key);
CREATE INDEX interval_stats_queue_rows ON interval_stats (tenant_id, dimension, interval_start, key, data)
    WHERE dimension = 'queue' OR dimension = 'channel';
