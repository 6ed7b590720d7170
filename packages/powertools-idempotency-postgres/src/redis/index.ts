export {
  type CacheResult,
  type RedisCachedPersistenceLayerOptions,
  RedisCachedPostgresPersistenceLayer,
} from './redis-cached-persistence-layer.ts';
export { connectRedisIdempotencyCache, type IdempotencyCache } from './redis-idempotency-cache.ts';
