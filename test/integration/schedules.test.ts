import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack/stack.ts';
import { newSeed } from '../../scripts/prove/random.ts';
import {
  type ScheduleEnvironment,
  scheduleEnvironmentOf,
  scheduleStackOptions,
} from '../../scripts/prove/schedule-environment.ts';
import { runSchedules } from '../../scripts/prove/schedules.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';

const RUNS = Number(process.env.SCHEDULES_RUNS ?? 100);
/** The Redis key-loss dimension needs the hot tier; startTestRedis says how to get one. */
let redis: TestRedis;
let stack: LocalStack;
let environment: ScheduleEnvironment & { close(): Promise<void> };

beforeAll(async () => {
  redis = await startTestRedis();
  // A PostgreSQL server of its own: the schedules SIGKILL it.
  stack = await startLocalStack({
    ...scheduleStackOptions({
      IDEMPOTENCY_CACHE: 'redis',
      REDIS_URL: redis.url,
      REDIS_TIMEOUT_MS: '50',
    }),
  });
  environment = await scheduleEnvironmentOf(stack, redis.url);
});
afterAll(async () => {
  await environment?.close();
  await stack?.stop();
  await redis?.close();
});

describe('seeded randomized fault schedules', () => {
  it(`apply every logical charge exactly once across ${RUNS} schedules of duplicates, races, lost responses, process and database crashes and Redis key loss`, async () => {
    // A failure prints its seed and path; SCHEDULES_SEED=… SCHEDULES_PATH=… replays it.
    const seed = Number(process.env.SCHEDULES_SEED ?? newSeed());
    const result = await runSchedules({
      stack: environment,
      numRuns: RUNS,
      seed,
      ...(process.env.SCHEDULES_PATH ? { path: process.env.SCHEDULES_PATH } : {}),
      log: (line) => console.log(line),
    });
    console.log(result.summary);
    expect(result.ok, result.summary).toBe(true);
    expect(result.stats.schedules).toBeGreaterThanOrEqual(RUNS);
    // Every kind of crash point actually fired: the schedules did not only arm them.
    expect(result.stats.crashesFired.charge).toBeGreaterThan(0);
    expect(result.stats.crashesFired.relay).toBeGreaterThan(0);
    expect(result.stats.crashesFired.consumer).toBeGreaterThan(0);
    expect(result.stats.crashesFired.database).toBeGreaterThan(0);
    expect(stack.database.restarts).toBe(result.stats.crashesFired.database);
    expect(result.stats.redisFlushes).toBeGreaterThan(0);
  }, 150_000);
});
