import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { type HttpAnswer, newKey, postCharge, VALID_CHARGE } from '../support/http.ts';
import { CLIENT_A, type LocalApi, startLocalApi } from '../support/local-api.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { countTrafficTo, type TrafficCounter } from '../support/tcp-traffic-counter.ts';

let db: TestDatabase;
let redis: TestRedis;
let postgresTraffic: TrafficCounter;
let api: LocalApi;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await startTestRedis();
  // The API reaches PostgreSQL through a counter, so a test can see a request that never used it.
  const target = new URL(db.url);
  postgresTraffic = await countTrafficTo(target.hostname, Number(target.port));
  const viaCounter = new URL(db.url);
  viaCounter.port = String(postgresTraffic.port);
  api = await startLocalApi(viaCounter.toString(), {
    IDEMPOTENCY_CACHE: 'redis',
    REDIS_URL: redis.url,
    // Generous for a loaded 2-core test machine; production default is 5 ms.
    REDIS_TIMEOUT_MS: '50',
  });
});
afterAll(async () => {
  await api?.stop();
  await postgresTraffic?.close();
  await redis?.close();
  await db?.drop();
});

const charge = (key: string, body: unknown = VALID_CHARGE) =>
  postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key, body });

async function chargeCount(key: string): Promise<number> {
  const { rows } = await db.pool.query(
    'SELECT count(*)::int AS n FROM charges WHERE idempotency_key = $1',
    [key],
  );
  return rows[0].n;
}

function expectSameCharge(answer: HttpAnswer, first: HttpAnswer): void {
  expect(answer.status).toBe(201);
  expect(answer.text).toBe(first.text);
}

describe('the Redis hot tier over PostgreSQL', () => {
  it('serves a replay from Redis without a single byte to PostgreSQL', async () => {
    const key = newKey();
    const first = await charge(key);
    expect(first.status).toBe(201);
    const hitsBefore = api.metrics.value('idempotency_cache_total', { result: 'hit' });

    const bytesBefore = postgresTraffic.bytesToTarget();
    const replay = await charge(key);
    expect(postgresTraffic.bytesToTarget() - bytesBefore).toBe(0);

    expectSameCharge(replay, first);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await expect
      .poll(() => api.metrics.value('idempotency_cache_total', { result: 'hit' }))
      .toBe(hitsBefore + 1);
  });

  it('still answers 422 from Redis for the same key with a different body', async () => {
    const key = newKey();
    await charge(key);
    const bytesBefore = postgresTraffic.bytesToTarget();
    const mismatch = await charge(key, { ...VALID_CHARGE, amount: 77 });
    expect(mismatch.status).toBe(422);
    expect(postgresTraffic.bytesToTarget() - bytesBefore).toBe(0);
    expect(await chargeCount(key)).toBe(1);
  });

  it.each([
    [
      'deleted',
      async () => {
        // The stored key is a hash of (client, Idempotency-Key); this test's key is the only one.
        for (const stored of await redis.client.keys('*')) await redis.client.del(stored);
      },
    ],
    ['flushed (FLUSHALL)', () => redis.client.flushAll()],
  ])(
    'replays from PostgreSQL when the key was %s from Redis, with one charge, and refills Redis',
    async (_name, lose) => {
      const key = newKey();
      await redis.client.flushAll();
      const first = await charge(key);
      expect(await redis.client.dbSize()).toBe(1);
      await lose();
      expect(await redis.client.dbSize()).toBe(0);

      const bytesBefore = postgresTraffic.bytesToTarget();
      const retry = await charge(key);
      expectSameCharge(retry, first);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(postgresTraffic.bytesToTarget()).toBeGreaterThan(bytesBefore);
      expect(await chargeCount(key)).toBe(1);
      expect(await redis.client.dbSize()).toBe(1);
    },
  );

  it('keeps one charge when concurrent same-key requests lose the key from Redis in the middle', async () => {
    const key = newKey();
    const burst = () => Promise.all(Array.from({ length: 20 }, () => charge(key)));
    const [firstWave] = await Promise.all([burst(), redis.client.flushAll()]);
    await redis.client.flushAll();
    const secondWave = await burst();
    const answers = [...firstWave, ...secondWave];
    const created = answers.filter((answer) => answer.status === 201);
    expect(answers.every((answer) => answer.status === 201 || answer.status === 409)).toBe(true);
    expect(created.length).toBeGreaterThan(0);
    for (const answer of created) expect(answer.text).toBe(created[0]?.text);
    expect(await chargeCount(key)).toBe(1);
  });

  it('keeps every outcome correct while Redis is down, shows the errors, and resumes hits when it is back', async () => {
    const errorsBefore =
      api.metrics.value('idempotency_cache_total', { result: 'error' }) +
      api.metrics.value('idempotency_cache_total', { result: 'fallthrough' });
    const keys = Array.from({ length: 10 }, () => newKey());
    const firsts = new Map<string, HttpAnswer>();
    for (const key of keys.slice(0, 5)) firsts.set(key, await charge(key));

    await redis.stop();
    for (const key of keys) {
      const answer = await charge(key);
      expect(answer.status).toBe(201);
      const first = firsts.get(key);
      if (first) {
        expectSameCharge(answer, first);
        expect(answer.headers.get('idempotent-replayed')).toBe('true');
      } else {
        firsts.set(key, answer);
      }
      // A mismatch is still refused with Postgres alone.
      expect((await charge(key, { ...VALID_CHARGE, amount: 1 })).status).toBe(422);
    }
    for (const key of keys) expect(await chargeCount(key)).toBe(1);
    await expect
      .poll(
        () =>
          api.metrics.value('idempotency_cache_total', { result: 'error' }) +
          api.metrics.value('idempotency_cache_total', { result: 'fallthrough' }),
      )
      .toBeGreaterThan(errorsBefore);

    await redis.start();
    const hitsBefore = api.metrics.value('idempotency_cache_total', { result: 'hit' });
    // The breaker half-opens after its reset time and the client reconnects; bounded wait.
    for (let attempt = 0; attempt < 50; attempt++) {
      for (const key of keys) expectSameCharge(await charge(key), firsts.get(key) as HttpAnswer);
      if (api.metrics.value('idempotency_cache_total', { result: 'hit' }) > hitsBefore) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(api.metrics.value('idempotency_cache_total', { result: 'hit' })).toBeGreaterThan(
      hitsBefore,
    );
  });
});
