-- Up Migration

-- Clients of the API and their secret keys (issue 13). A client id is what idempotency keys
-- and charges belong to: it stays the same however often its keys are rotated. Keys are
-- stored only as SHA-256 hashes; the secret is shown once, at creation.
CREATE TABLE api_clients (
  client_id  text PRIMARY KEY CHECK (client_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  -- The API Gateway usage-plan key value the authorizer returns (apiKeySource AUTHORIZER),
  -- so usage-plan throttling stays per client. An identifier, not a credential: clients
  -- never send it. NULL locally, where there is no usage plan.
  usage_key  text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  key_id      text PRIMARY KEY,
  client_id   text NOT NULL REFERENCES api_clients (client_id),
  secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- Set by a rotation: the old key stays valid until then (the overlap window).
  expires_at  timestamptz,
  revoked_at  timestamptz
);
CREATE INDEX api_keys_client ON api_keys (client_id);

-- Down Migration
DROP TABLE api_keys;
DROP TABLE api_clients;
