/**
 * The Redis-cached variant's own paths that the payments service's tier tests
 * (test/integration/redis-tier.test.ts) do not reach: a durable replay answered by Redis, and
 * responses Redis hands back. A redis-server of the test's own; PostgreSQL as in the other files.
 */
import {
  IdempotencyConfig,
  IdempotencyItemAlreadyExistsError,
} from '@aws-lambda-powertools/idempotency';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../../test/support/redis-server.ts';
import {
  type CacheResult,
  connectRedisIdempotencyCache,
  RedisCachedPostgresPersistenceLayer,
} from '../src/redis/index.ts';
import { createPackageTestDatabase, type PackageTestDatabase } from './support/database.ts';
import { asInvocation } from './support/invocations.ts';

let db: PackageTestDatabase;
let redis: TestRedis;
let cache: Awaited<ReturnType<typeof connectRedisIdempotencyCache>>;

beforeAll(async () => {
  db = await createPackageTestDatabase();
  redis = await startTestRedis();
  cache = await connectRedisIdempotencyCache(redis.url);
});
afterAll(async () => {
  await cache.close();
  await redis.close();
  await db.drop();
});
beforeEach(async () => {
  await db.pool.query('TRUNCATE idempotency_records');
  await redis.client.flushAll();
});

function cachedLayer(results: CacheResult[] = []) {
  const layer = new RedisCachedPostgresPersistenceLayer({
    pool: db.pool,
    cache,
    // Generous: this test is about what Redis answers, not about its latency under load.
    cacheTimeoutMs: 1_000,
    onCacheResult: (result) => results.push(result),
  });
  layer.configure({ config: new IdempotencyConfig({ eventKeyJmesPath: 'orderId' }) });
  return layer;
}

const order = { orderId: 'o-1' };

describe('RedisCachedPostgresPersistenceLayer', () => {
  it('lets a durable replay that Redis answers with a completed record finish without touching it [makeIdempotent.test.ts › passes isReplay=true to handler when durable context is in ReplayMode]', async () => {
    const layer = cachedLayer();
    await asInvocation('first', async () => {
      await layer.saveInProgress(order, 30_000);
      await layer.saveSuccess(order, { by: 'first' });
    });
    // What Powertools does on a replay: the claim is refused, the work runs, then saveSuccess.
    await asInvocation('replay', async () => {
      await expect(layer.saveInProgress(order, 30_000)).rejects.toBeInstanceOf(
        IdempotencyItemAlreadyExistsError,
      );
      await layer.saveSuccess(order, { by: 'replay' });
    });
    const { rows } = await db.pool.query('SELECT status, response FROM idempotency_records');
    expect(rows).toEqual([{ status: 'COMPLETED', response: { by: 'first' } }]);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['false', false],
  ])(
    'returns a response of %s from Redis as it was stored [DynamoDbPersistenceLayer › _updateRecord › updates the item when the response_data is undefined]',
    async (_name, response) => {
      const results: CacheResult[] = [];
      const layer = cachedLayer(results);
      await asInvocation('owner', async () => {
        await layer.saveInProgress(order, 30_000);
        // biome-ignore lint/suspicious/noExplicitAny: the response is any JSON value or undefined
        await layer.saveSuccess(order, response as any);
      });
      await db.pool.query('TRUNCATE idempotency_records');
      const record = await layer.getRecord(order);
      expect(results.at(-1)).toBe('hit');
      expect(record.getStatus()).toBe('COMPLETED');
      expect(record.getResponse()).toStrictEqual(response);
    },
  );
});
