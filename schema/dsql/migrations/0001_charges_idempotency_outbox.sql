-- Up Migration

-- The schema of functions/migrate/migrations, reshaped for Aurora DSQL's documented limits (see
-- docs/GLOBAL.md, "Running on Aurora DSQL"). Applied and tested here on PostgreSQL only.
-- Differences from the PostgreSQL schema:
-- * json instead of jsonb for stored documents (DSQL keeps jsonb as a query-time type only);
--   pg parses both into objects, and jsonb operators still work after a cast;
-- * no partial index (the relay's predicate is served by a plain index that leads with it);
-- * on DSQL each CREATE INDEX below must be written CREATE INDEX ASYNC, and every statement of
--   this file must run in its own transaction (one DDL per transaction, no DML beside it).

CREATE TABLE idempotency_records (
  id                     text PRIMARY KEY,
  status                 text NOT NULL CHECK (status IN ('INPROGRESS', 'COMPLETED')),
  expires_at             timestamptz NOT NULL,
  in_progress_expires_at timestamptz,
  payload_hash           text,
  response               json,
  claim_token            uuid NOT NULL,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_records_expires_at_idx ON idempotency_records (expires_at);

CREATE TABLE charges (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  client_id           text NOT NULL,
  idempotency_key     text NOT NULL,
  request_fingerprint text NOT NULL,
  customer_id         text NOT NULL,
  amount              bigint NOT NULL CHECK (amount BETWEEN 1 AND 100000000),
  currency            char(3) NOT NULL,
  description         text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT charges_client_key_unique UNIQUE (client_id, idempotency_key)
);

CREATE TABLE outbox (
  event_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  aggregate_id text NOT NULL,
  event_type   text NOT NULL,
  payload      json NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (published_at, created_at, event_id);

-- Down Migration
DROP TABLE outbox;
DROP TABLE charges;
DROP TABLE idempotency_records;
