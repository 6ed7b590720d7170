-- Up Migration

-- functions/migrate/migrations/0005_relay_lease_bus_delivery.sql, reshaped for DSQL: the new
-- outbox columns are nullable without defaults (the relay's statements coalesce them), and
-- the bus-pending index is a plain one leading with its predicate (no partial indexes). On
-- DSQL each statement runs in its own transaction and the index is CREATE INDEX ASYNC.
CREATE TABLE relay_lease (
  name       text PRIMARY KEY,
  holder     text NOT NULL,
  token      bigint NOT NULL,
  expires_at timestamptz NOT NULL
);
ALTER TABLE outbox ADD COLUMN bus_published_at timestamptz;
ALTER TABLE outbox ADD COLUMN bus_attempts integer;
ALTER TABLE outbox ADD COLUMN bus_next_attempt_at timestamptz;
ALTER TABLE outbox ADD COLUMN republish_count integer;
CREATE INDEX outbox_bus_pending_idx ON outbox (bus_published_at, created_at, event_id);

-- Down Migration
DROP INDEX outbox_bus_pending_idx;
ALTER TABLE outbox DROP COLUMN republish_count;
ALTER TABLE outbox DROP COLUMN bus_next_attempt_at;
ALTER TABLE outbox DROP COLUMN bus_attempts;
ALTER TABLE outbox DROP COLUMN bus_published_at;
DROP TABLE relay_lease;
