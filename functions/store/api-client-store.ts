import type { Queryable } from './database.ts';

/** What the authorizer needs of a key it was shown: whose it is, and the hash to compare. */
export interface StoredApiKey {
  keyId: string;
  clientId: string;
  secretHash: Buffer;
  usageKey: string | null;
}

/** A key is valid until revoked, and, once rotated away from, until its overlap ends. */
const VALID = 'k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())';

/** The key stored as `keyId`, if it is currently valid (database clock). */
export async function findValidApiKey(
  db: Queryable,
  keyId: string,
): Promise<StoredApiKey | undefined> {
  const { rows } = await db.query<{
    client_id: string;
    secret_hash: Buffer;
    usage_key: string | null;
  }>(
    `SELECT k.client_id, k.secret_hash, c.usage_key
       FROM api_keys k JOIN api_clients c USING (client_id)
      WHERE k.key_id = $1 AND ${VALID}`,
    [keyId],
  );
  const row = rows[0];
  return (
    row && {
      keyId,
      clientId: row.client_id,
      secretHash: row.secret_hash,
      usageKey: row.usage_key,
    }
  );
}

/** A key as it is stored: its id, its client and the hash of its secret. */
export interface NewKeyRow {
  keyId: string;
  clientId: string;
  secretHash: Buffer;
}

/** Creates the client and its first key in one statement; false if the client exists. */
export async function insertClient(
  db: Queryable,
  key: NewKeyRow,
  usageKey: string | null,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH client AS (
       INSERT INTO api_clients (client_id, usage_key) VALUES ($1, $2)
       ON CONFLICT DO NOTHING RETURNING client_id
     )
     INSERT INTO api_keys (key_id, client_id, secret_hash)
     SELECT $3, client_id, $4 FROM client`,
    [key.clientId, usageKey, key.keyId, key.secretHash],
  );
  return rowCount === 1;
}

/**
 * Rotation, one statement: the client's valid keys expire after `overlapSeconds` (sooner if
 * they already would) and the new key is added. False if there is no such client.
 */
export async function insertRotatedKey(
  db: Queryable,
  key: NewKeyRow,
  overlapSeconds: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH client AS (SELECT client_id FROM api_clients WHERE client_id = $1),
     overlap AS (
       UPDATE api_keys k SET expires_at = now() + make_interval(secs => $4)
        WHERE k.client_id IN (SELECT client_id FROM client) AND ${VALID}
          AND (k.expires_at IS NULL OR k.expires_at > now() + make_interval(secs => $4))
     )
     INSERT INTO api_keys (key_id, client_id, secret_hash)
     SELECT $2, client_id, $3 FROM client`,
    [key.clientId, key.keyId, key.secretHash, overlapSeconds],
  );
  return rowCount === 1;
}

/** Revokes one key, or every key of a client; returns the ids revoked now. */
export async function revokeApiKeys(
  db: Queryable,
  target: { keyId: string } | { clientId: string },
): Promise<string[]> {
  const [column, value] =
    'keyId' in target ? ['key_id', target.keyId] : ['client_id', target.clientId];
  const { rows } = await db.query<{ key_id: string }>(
    `UPDATE api_keys SET revoked_at = now()
      WHERE ${column} = $1 AND revoked_at IS NULL RETURNING key_id`,
    [value],
  );
  return rows.map((row) => row.key_id);
}

/** One key in a listing: whose it is, its lifetime, and whether it is valid now. */
export interface ClientKeyListing {
  clientId: string;
  keyId: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  valid: boolean;
}

/** Every client's keys (never their hashes), newest first within a client. */
export async function listApiKeys(db: Queryable): Promise<ClientKeyListing[]> {
  const { rows } = await db.query<{
    client_id: string;
    key_id: string;
    created_at: Date;
    expires_at: Date | null;
    revoked_at: Date | null;
    valid: boolean;
  }>(
    `SELECT k.client_id, k.key_id, k.created_at, k.expires_at, k.revoked_at, ${VALID} AS valid
       FROM api_keys k ORDER BY k.client_id, k.created_at DESC`,
  );
  return rows.map((row) => ({
    clientId: row.client_id,
    keyId: row.key_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    valid: row.valid,
  }));
}

/**
 * Seeds a dev key (LOCAL_API_KEYS) idempotently: creates the client if missing and stores the
 * key's hash under its id, re-pointing it at `clientId` if the seed changed. A revoked seed
 * stays revoked.
 */
export async function upsertSeededKey(db: Queryable, key: NewKeyRow): Promise<void> {
  await db.query(
    `WITH client AS (
       INSERT INTO api_clients (client_id) VALUES ($1) ON CONFLICT DO NOTHING
     )
     INSERT INTO api_keys (key_id, client_id, secret_hash) VALUES ($2, $1, $3)
     ON CONFLICT (key_id) DO UPDATE SET client_id = EXCLUDED.client_id`,
    [key.clientId, key.keyId, key.secretHash],
  );
}
