import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateToLatest } from '../../functions/migrate/run-migrations.ts';
import { createPool } from '../../functions/store/database.ts';
import { withAdminClient } from '../../scripts/local/embedded-postgres.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { getJson, type HttpAnswer, newKey, postCharge, VALID_CHARGE } from '../support/http.ts';
import { CLIENT_A, type LocalApi, startLocalApi } from '../support/local-api.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';

const CACHE_EPOCH_CLI = fileURLToPath(new URL('../../scripts/cache-epoch.ts', import.meta.url));

let redis: TestRedis;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await redis?.close();
});

/** A database made the way a new environment gets one: empty, then migrated. */
async function freshDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const name = `payments_fresh_${randomBytes(6).toString('hex')}`;
  await withAdminClient(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrateToLatest(url.toString());
  const pool = createPool(url.toString(), { max: 2 });
  return {
    name,
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      await withAdminClient(adminUrl, (admin) =>
        admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      );
    },
  };
}

/** The API on `db` behind the test's one Redis, which outlives every database here. */
async function apiOn(db: TestDatabase): Promise<LocalApi> {
  const api = await startLocalApi(db.url, {
    IDEMPOTENCY_CACHE: 'redis',
    REDIS_URL: redis.url,
    REDIS_TIMEOUT_MS: '50',
  });
  cleanups.push(() => api.stop());
  return api;
}

async function tracked(db: Promise<TestDatabase>): Promise<TestDatabase> {
  const created = await db;
  cleanups.push(() => created.drop());
  return created;
}

const charge = (api: LocalApi, key: string) =>
  postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key, body: VALID_CHARGE });

/** The answer is a charge this database holds, made now: not a replay of another's. */
async function expectRealNewCharge(api: LocalApi, answer: HttpAnswer): Promise<void> {
  expect(answer.status).toBe(201);
  expect(answer.headers.get('idempotent-replayed')).toBeNull();
  const found = await getJson(api.url, `/charges/${answer.json().id}`, CLIENT_A.apiKey);
  expect(found.status).toBe(200);
}

describe('a warm Redis answers only for its own database', () => {
  it('charges anew on a fresh database, and on a restored one after the restore procedure', async () => {
    const key = newKey();

    // 1. The original database: charge, then replay from Redis.
    const original = await tracked(createTestDatabase());
    const before = await apiOn(original);
    const first = await charge(before, key);
    expect(first.status).toBe(201);
    expect((await charge(before, key)).headers.get('idempotent-replayed')).toBe('true');
    expect(await redis.client.dbSize()).toBeGreaterThan(0);
    await before.stop();

    // 2. A fresh database (a reset; `npm start` again) behind the same, warm Redis.
    const fresh = await tracked(freshDatabase());
    const onFresh = await apiOn(fresh);
    const afterReset = await charge(onFresh, key);
    await expectRealNewCharge(onFresh, afterReset);
    expect(afterReset.json().id).not.toBe(first.json().id);
    await onFresh.stop();

    // 3. A restore: a copy of the same database from before the charge (the same identity,
    //    as a snapshot has), then the restore procedure's `npm run cache-epoch -- bump`.
    const restored = await tracked(createTestDatabase());
    const bumped = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        [CACHE_EPOCH_CLI, 'bump', '--database-url', restored.url],
        { timeout: 30_000 },
        (error, stdout) => resolve({ code: error ? 1 : 0, stdout }),
      ),
    );
    expect(bumped.code).toBe(0);
    expect(bumped.stdout).toMatch(/epoch 2\b/);
    const onRestored = await apiOn(restored);
    const afterRestore = await charge(onRestored, key);
    await expectRealNewCharge(onRestored, afterRestore);
    // From now on this database's own replays come from Redis again.
    const replay = await charge(onRestored, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json().id).toBe(afterRestore.json().id);
  });
});
