-- The table PostgresPersistenceLayer reads and writes (default name: idempotency_records).
-- Plain SQL, safe to run more than once: `psql "$DATABASE_URL" -f idempotency_records.sql`,
-- or copy it into your migration tool's next migration.
--
-- claim_token fences ownership: only the invocation that holds the current claim may
-- complete or release the record, so a late finisher cannot overwrite a takeover.
CREATE TABLE IF NOT EXISTS idempotency_records (
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
-- deleteExpiredRecords() scans by expiry.
CREATE INDEX IF NOT EXISTS idempotency_records_expires_at_idx ON idempotency_records (expires_at);
