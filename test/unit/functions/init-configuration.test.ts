/**
 * Each function kind refuses to start on a bad configuration, naming the variable: the real
 * handler module is imported with the environment under test. It fails at init, before it
 * connects to anything, so no database or queue is needed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const HANDLERS = {
  charge: () => import('../../../functions/charge/handler.ts'),
  'get-charge': () => import('../../../functions/get-charge/handler.ts'),
  health: () => import('../../../functions/health/handler.ts'),
  relay: () => import('../../../functions/relay/handler.ts'),
  consumer: () => import('../../../functions/consumer/handler.ts'),
  migrate: () => import('../../../functions/migrate/handler.ts'),
  authorizer: () => import('../../../functions/authorizer/handler.ts'),
  clients: () => import('../../../functions/clients/handler.ts'),
  reconciliation: () => import('../../../functions/reconciliation/handler.ts'),
  housekeeping: () => import('../../../functions/housekeeping/handler.ts'),
};

/** Besides the database, what each kind needs to get past its settings. */
const REQUIRED: Record<keyof typeof HANDLERS, Record<string, string>> = {
  charge: {},
  'get-charge': {},
  health: {},
  relay: { QUEUE_URL: 'http://127.0.0.1:9/queue.fifo', DLQ_URL: 'http://127.0.0.1:9/dlq.fifo' },
  consumer: { DLQ_URL: 'http://127.0.0.1:9/dlq.fifo' },
  migrate: {},
  authorizer: {},
  clients: {},
  reconciliation: {},
  housekeeping: {},
};

const saved = { ...process.env };
beforeEach(() => {
  vi.resetModules();
  for (const name of Object.keys(process.env)) {
    if (
      /^(DATABASE_|DB_|IDEMPOTENCY_|REDIS_|QUEUE_URL|DLQ_URL|RELAY_|EVENT_BUS|PUBLISH_)/.test(name)
    )
      delete process.env[name];
  }
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});
afterEach(() => {
  process.env = { ...saved };
});

describe('a function with a bad configuration fails at init, naming the variable', () => {
  for (const [kind, load] of Object.entries(HANDLERS) as [
    keyof typeof HANDLERS,
    () => Promise<unknown>,
  ][]) {
    it(`${kind}: no database configured`, async () => {
      Object.assign(process.env, REQUIRED[kind]);
      await expect(load()).rejects.toThrow(
        /DATABASE_SECRET_ARN is required \(or set DATABASE_URL\)/,
      );
    });

    it(`${kind}: a misspelt variable`, async () => {
      Object.assign(process.env, REQUIRED[kind], {
        // An unroutable address: reaching it would mean the settings were not checked first.
        DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none',
        DATABASE_TSL: 'off',
      });
      await expect(load()).rejects.toThrow(
        /DATABASE_TSL is not a setting of this function: did you mean DATABASE_TLS\?/,
      );
    });
  }

  it('relay: a missing queue', async () => {
    process.env.DATABASE_URL = 'postgres://nobody@127.0.0.1:9/none';
    await expect(HANDLERS.relay()).rejects.toThrow(/QUEUE_URL is required but not set/);
  });

  it('charge: the Redis URL without the switch that uses it', async () => {
    Object.assign(process.env, {
      DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none',
      REDIS_URL: 'redis://127.0.0.1:9',
    });
    await expect(HANDLERS.charge()).rejects.toThrow(
      /REDIS_URL is set but IDEMPOTENCY_CACHE is not redis/,
    );
  });
});
