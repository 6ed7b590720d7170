import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secret API keys: `payk_` (recognisable, so secret scanners and people can tell one when
 * they see it), a public key id, and 256 bits of randomness. Only the SHA-256 of the whole
 * key is stored: a fast hash is enough for a secret with that much entropy (no dictionary to
 * try), unlike a password, which would need a slow one.
 */
const GENERATED_KEY = /^payk_([0-9a-f]{16})\.[A-Za-z0-9_-]{43}$/;
/** How every generated key starts. */
export const API_KEY_PREFIX = 'payk_';

/** A freshly generated key: its public id, the secret (once), and the hash that is stored. */
export interface NewApiKey {
  keyId: string;
  /** The secret as the client presents it: shown once, never stored. */
  secret: string;
  secretHash: Buffer;
}

/** A new key with 256 bits of randomness. */
export function generateApiKey(): NewApiKey {
  const keyId = randomBytes(8).toString('hex');
  const secret = `${API_KEY_PREFIX}${keyId}.${randomBytes(32).toString('base64url')}`;
  return { keyId, secret, secretHash: hashApiKey(secret) };
}

/**
 * The id under which a presented key is stored. A generated key carries it; any other
 * string (the dev keys LOCAL_API_KEYS seeds) gets one derived from its hash, so both kinds
 * are found the same way and compared the same way.
 */
export function apiKeyIdOf(presented: string): string {
  const generated = GENERATED_KEY.exec(presented);
  if (generated?.[1]) return generated[1];
  return `seed_${hashApiKey(presented).toString('hex').slice(0, 16)}`;
}

/** SHA-256 of the whole presented key: what is stored and compared. */
export function hashApiKey(presented: string): Buffer {
  return createHash('sha256').update(presented, 'utf8').digest();
}

/** Whether `presented` is the key whose hash is `storedHash`, in time independent of both. */
export function apiKeyMatches(presented: string, storedHash: Buffer): boolean {
  const presentedHash = hashApiKey(presented);
  return presentedHash.length === storedHash.length && timingSafeEqual(presentedHash, storedHash);
}

/** A client id: what idempotency keys and charges belong to, stable across key rotations. */
export const CLIENT_ID = /^[A-Za-z0-9_.-]{1,64}$/;
