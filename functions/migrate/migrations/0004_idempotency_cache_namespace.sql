-- Up Migration

-- The identity of this database for the Redis idempotency tier (issue 13). Redis keys are
-- namespaced by database_id and epoch, so a cached record answers only for the database it
-- came from: a fresh database (this migration runs again: a new id) or a restored one (the
-- restore procedure bumps the epoch: `npm run cache-epoch -- bump`) never replays a charge
-- it does not hold. One row, enforced by the singleton key.
CREATE TABLE idempotency_cache_namespace (
  singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  database_id uuid NOT NULL DEFAULT gen_random_uuid(),
  epoch       integer NOT NULL DEFAULT 1 CHECK (epoch > 0),
  bumped_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO idempotency_cache_namespace DEFAULT VALUES;

-- Down Migration
DROP TABLE idempotency_cache_namespace;
