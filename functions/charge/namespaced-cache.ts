import type { IdempotencyCache } from '@effectively-once/powertools-idempotency-postgres/redis';
import type { CacheNamespace } from '../store/idempotency-cache-namespace.ts';

/** The Redis key prefix of `namespace`: `idem:{databaseId}:{epoch}:`. */
export function cacheKeyPrefix(namespace: CacheNamespace): string {
  return `idem:${namespace.databaseId}:${namespace.epoch}:`;
}

/**
 * `cache` with every key under `prefix`. Redis outlives databases (a reset, an Aurora restore
 * while ElastiCache keeps a day of records): a record cached for another database, or for an
 * earlier epoch of this one, is then simply not found, and Postgres decides, instead of
 * replaying a charge this database does not hold.
 */
export function namespacedCache(cache: IdempotencyCache, prefix: string): IdempotencyCache {
  return {
    setIfAbsentOrGet: (key, value, ttlSeconds) =>
      cache.setIfAbsentOrGet(prefix + key, value, ttlSeconds),
    get: (key) => cache.get(prefix + key),
    set: (key, value, ttlSeconds) => cache.set(prefix + key, value, ttlSeconds),
    delete: (key) => cache.delete(prefix + key),
  };
}
