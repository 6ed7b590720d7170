-- Up Migration

-- Powertools idempotency records, keyed by the hashed (client, Idempotency-Key) pair.
-- claim_token fences ownership: only the invocation that holds the current claim may
-- complete or release the record, so a late finisher cannot overwrite a takeover.
CREATE TABLE idempotency_records (
  id                     text PRIMARY KEY,
  status                 text NOT NULL CHECK (status IN ('INPROGRESS', 'COMPLETED')),
  expires_at             timestamptz NOT NULL,
  in_progress_expires_at timestamptz,
  payload_hash           text,
  response               jsonb,
  claim_token            uuid NOT NULL,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_records_expires_at_idx ON idempotency_records (expires_at);

-- One row per logical charge. The unique (client_id, idempotency_key) pair is the last line
-- of defence: whatever happens to the idempotency record, no sequence of crashes and
-- retries can write a second charge for the same key.
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

-- Transactional outbox: written in the same transaction as the charge, drained by the relay.
CREATE TABLE outbox (
  event_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  aggregate_id text NOT NULL,
  event_type   text NOT NULL,
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (created_at, event_id) WHERE published_at IS NULL;

-- Down Migration
DROP TABLE outbox;
DROP TABLE charges;
DROP TABLE idempotency_records;
