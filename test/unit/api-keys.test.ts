import { describe, expect, it } from 'vitest';
import { stageWildcard } from '../../functions/authorizer/authorize-request.ts';
import {
  apiKeyIdOf,
  apiKeyMatches,
  generateApiKey,
  hashApiKey,
} from '../../functions/domain/api-keys.ts';

describe('secret API keys', () => {
  it('are recognisable, carry their key id and 256 random bits, and differ every time', () => {
    const keys = Array.from({ length: 50 }, () => generateApiKey());
    for (const key of keys) {
      expect(key.secret).toMatch(/^payk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
      expect(apiKeyIdOf(key.secret)).toBe(key.keyId);
      expect(key.secretHash).toEqual(hashApiKey(key.secret));
    }
    expect(new Set(keys.map((key) => key.secret)).size).toBe(keys.length);
    expect(new Set(keys.map((key) => key.keyId)).size).toBe(keys.length);
  });

  it('match only the secret they were made from', () => {
    const key = generateApiKey();
    expect(apiKeyMatches(key.secret, key.secretHash)).toBe(true);
    expect(apiKeyMatches(`${key.secret}x`, key.secretHash)).toBe(false);
    expect(apiKeyMatches(generateApiKey().secret, key.secretHash)).toBe(false);
    expect(apiKeyMatches(key.secret, Buffer.alloc(32))).toBe(false);
  });

  it('give a seeded dev key (any string) a stable id derived from its hash, not the key', () => {
    expect(apiKeyIdOf('local-dev-key')).toBe(apiKeyIdOf('local-dev-key'));
    expect(apiKeyIdOf('local-dev-key')).toMatch(/^seed_[0-9a-f]{16}$/);
    expect(apiKeyIdOf('local-dev-key')).not.toContain('local');
    expect(apiKeyIdOf('local-dev-key')).not.toBe(apiKeyIdOf('local-dev-key2'));
    // Not a generated key: a forged prefix with the wrong shape is just another string.
    expect(apiKeyIdOf('payk_short.x')).toMatch(/^seed_/);
  });
});

describe('the authorizer policy', () => {
  it('covers every method of the stage, so one cached answer serves the whole API', () => {
    expect(stageWildcard('arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/POST/charge')).toBe(
      'arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/*',
    );
  });
});
