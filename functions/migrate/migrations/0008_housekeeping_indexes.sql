-- Up Migration

-- Housekeeping deletes the oldest published outbox rows and the oldest inbox rows in
-- batches; these indexes make each batch an index range scan instead of a table scan.
-- (idempotency_records already has idempotency_records_expires_at_idx.)
-- Built inside the migration's transaction: on a large existing outbox this blocks writes to
-- it for the build, so deploy it when the tables are small or build the indexes CONCURRENTLY
-- by hand first (the IF NOT EXISTS then makes this a no-op).
CREATE INDEX IF NOT EXISTS outbox_published_at_idx ON outbox (published_at)
  WHERE published_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS inbox_processed_at_idx ON ledger.inbox (processed_at);

-- Down Migration
DROP INDEX IF EXISTS ledger.inbox_processed_at_idx;
DROP INDEX IF EXISTS outbox_published_at_idx;
