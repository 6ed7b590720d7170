-- Up Migration

-- One active relay at a time. The holder renews `expires_at`; another relay takes over only
-- after it lapses, and every takeover increments `token`. The relay marks rows published only
-- while its token is still the current one (the fencing token), so a relay that stalled past
-- its lease cannot mark what the new holder is publishing. Plain rows, not session advisory
-- locks: each statement stands alone, so it works through RDS Proxy without pinning.
CREATE TABLE relay_lease (
  name       text PRIMARY KEY,
  holder     text NOT NULL,
  token      bigint NOT NULL,
  expires_at timestamptz NOT NULL
);

-- The event bus has its own delivery state: the ledger needs only the queue (published_at),
-- so a bus outage delays the bus's subscribers and nothing else. Failed bus deliveries back
-- off per row (bus_next_attempt_at) so they do not hold up the rows behind them.
ALTER TABLE outbox
  ADD COLUMN bus_published_at    timestamptz,
  ADD COLUMN bus_attempts        integer NOT NULL DEFAULT 0,
  ADD COLUMN bus_next_attempt_at timestamptz,
  -- Times reconciliation re-enqueued the event: part of the SQS deduplication id of a
  -- re-publish, so SQS does not drop it as a repeat of the lost message (the inbox still
  -- dedups on the event id).
  ADD COLUMN republish_count     integer NOT NULL DEFAULT 0;
-- Before this migration an event counted as published only once the bus had it too.
UPDATE outbox SET bus_published_at = published_at WHERE published_at IS NOT NULL;
CREATE INDEX outbox_bus_pending_idx ON outbox (created_at, event_id) WHERE bus_published_at IS NULL;

-- Down Migration
DROP INDEX outbox_bus_pending_idx;
ALTER TABLE outbox
  DROP COLUMN republish_count,
  DROP COLUMN bus_next_attempt_at,
  DROP COLUMN bus_attempts,
  DROP COLUMN bus_published_at;
DROP TABLE relay_lease;
