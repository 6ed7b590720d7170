import { apiKeyIdOf, CLIENT_ID, generateApiKey, hashApiKey } from '../domain/api-keys.ts';
import {
  type ClientKeyListing,
  insertClient,
  insertRotatedKey,
  listApiKeys,
  revokeApiKeys,
  upsertSeededKey,
} from '../store/api-client-store.ts';
import type { Queryable } from '../store/database.ts';

/** A client or key operation that cannot be done as asked; the message is for a person. */
export class ClientManagementError extends Error {}

/** A new secret: returned once to the operator, never stored or logged. */
export interface IssuedKey {
  clientId: string;
  keyId: string;
  secret: string;
}

/** Default overlap of a rotation: both secrets work for a day, then only the new one. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 60 * 60;

function checkClientId(clientId: string): void {
  if (!CLIENT_ID.test(clientId)) {
    throw new ClientManagementError(
      `client id ${JSON.stringify(clientId)} must be 1-64 of A-Z a-z 0-9 _ . -`,
    );
  }
}

/**
 * A new client with its first secret key. `usageKey` is the value of the API Gateway API key
 * in the usage plan that throttles this client (AWS only).
 */
export async function createClient(
  db: Queryable,
  clientId: string,
  usageKey: string | null = null,
): Promise<IssuedKey> {
  checkClientId(clientId);
  const key = generateApiKey();
  if (!(await insertClient(db, { ...key, clientId }, usageKey))) {
    throw new ClientManagementError(`client ${clientId} already exists; rotate its key instead`);
  }
  return { clientId, keyId: key.keyId, secret: key.secret };
}

/**
 * A new secret for `clientId`; its current keys stay valid for `overlapSeconds`, so
 * requests (and retries) signed with the old one keep working while the client switches.
 */
export async function rotateClientKey(
  db: Queryable,
  clientId: string,
  overlapSeconds = DEFAULT_ROTATION_OVERLAP_SECONDS,
): Promise<IssuedKey & { oldKeysValidForSeconds: number }> {
  checkClientId(clientId);
  if (!Number.isFinite(overlapSeconds) || overlapSeconds < 0) {
    throw new ClientManagementError('the overlap must be a number of seconds >= 0');
  }
  const key = generateApiKey();
  if (!(await insertRotatedKey(db, { ...key, clientId }, overlapSeconds))) {
    throw new ClientManagementError(`no client ${clientId}`);
  }
  return { clientId, keyId: key.keyId, secret: key.secret, oldKeysValidForSeconds: overlapSeconds };
}

/** Revokes one key (by key id) or all of a client's keys; throws if nothing was revoked. */
export async function revokeKeys(
  db: Queryable,
  target: { keyId: string } | { clientId: string },
): Promise<string[]> {
  const revoked = await revokeApiKeys(db, target);
  if (revoked.length === 0) {
    throw new ClientManagementError(
      'keyId' in target
        ? `no valid key ${target.keyId}`
        : `client ${target.clientId} has no unrevoked key`,
    );
  }
  return revoked;
}

/** Every client's keys, with whether each is still valid; never a secret. */
export function listClientKeys(db: Queryable): Promise<ClientKeyListing[]> {
  return listApiKeys(db);
}

/** Stores the LOCAL_API_KEYS dev keys (apiKey → clientId), idempotently. */
export async function seedDevKeys(db: Queryable, keys: Map<string, string>): Promise<void> {
  for (const [apiKey, clientId] of keys) {
    checkClientId(clientId);
    await upsertSeededKey(db, {
      keyId: apiKeyIdOf(apiKey),
      clientId,
      secretHash: hashApiKey(apiKey),
    });
  }
}
