import { describe, expect, it } from 'vitest';
import { ChargeClient } from '../../client/charge-client.ts';
import { ClientMetrics } from '../../client/metrics.ts';
import { purgeInBatches } from '../../functions/housekeeping/purge-in-batches.ts';
import {
  isUnreachable,
  retryUntilReachable,
} from '../../functions/migrate/retry-until-reachable.ts';
import { attemptFromHeader } from '../../primitives/attempt-header.ts';

describe('the attempt header', () => {
  it('is sent on every attempt, numbered, with the maximum', async () => {
    const sent: string[] = [];
    const client = new ChargeClient({
      baseUrl: 'http://payments.invalid',
      apiKey: 'k',
      maxAttempts: 3,
      baseDelayMs: 1,
      capDelayMs: 1,
      sleep: async () => {},
      fetch: async (_url, init) => {
        sent.push(new Headers(init?.headers).get('amz-sdk-request') ?? '');
        return new Response('{}', { status: 503 });
      },
    });
    await client.createCharge({ amount: 1, currency: 'EUR', customerId: 'c' });
    expect(sent).toEqual(['attempt=1; max=3', 'attempt=2; max=3', 'attempt=3; max=3']);
  });

  it.each([
    ['attempt=1; max=3', 1],
    ['attempt=4; max=4', 4],
    ['max=5; attempt=2', 2],
    ['attempt=12', 12],
    ['ttl=20240101T000000Z; attempt=3; max=3', 3],
  ])('is read by the server: %s -> %d', (header, attempt) => {
    expect(attemptFromHeader(header)).toBe(attempt);
  });

  it.each([undefined, '', 'attempt=0', 'attempt=-1', 'attempt=x', 'attempt=9999999', 'xattempt=2'])(
    'counts nowhere when absent or malformed: %s',
    (header) => {
      expect(attemptFromHeader(header)).toBeUndefined();
    },
  );
});

describe('client metrics as EMF', () => {
  it('writes one EMF document per recorded value, service=payments-client plus the label', () => {
    const lines: string[] = [];
    const metrics = new ClientMetrics({ emf: (line) => lines.push(line) });
    metrics.recordAttempt(5);
    metrics.observeRetryDelay(0.25);
    const [attempt, delay] = lines.map((line) => JSON.parse(line));
    expect(attempt).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'EffectivelyOncePayments',
            Dimensions: [['service', 'attempt']],
            Metrics: [{ Name: 'retry_attempt_total', Unit: 'Count' }],
          },
        ],
      },
      service: 'payments-client',
      attempt: '4+',
      retry_attempt_total: 1,
    });
    expect(delay).toMatchObject({ retry_delay_seconds: 0.25, service: 'payments-client' });
  });

  it('writes nothing unless asked to', () => {
    const metrics = new ClientMetrics();
    expect(() => metrics.recordBudgetExhausted()).not.toThrow();
    expect(metrics.snapshot().retry_budget_exhausted_total).toBe(1);
  });
});

describe('migrate waits for the database', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

  it('retries with doubling delays while the database is unreachable', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await retryUntilReachable(
      async () => {
        calls += 1;
        if (calls < 4) throw refused;
        return 'migrated';
      },
      { deadline: Date.now() + 600_000, sleep: async (ms) => void delays.push(ms) },
    );
    expect(result).toBe('migrated');
    expect(delays).toEqual([1000, 2000, 4000]);
  });

  it('fails at once on anything else (a broken migration must fail the deploy)', async () => {
    let calls = 0;
    const broken = Object.assign(new Error('syntax error'), { code: '42601' });
    await expect(
      retryUntilReachable(
        async () => {
          calls += 1;
          throw broken;
        },
        { deadline: Date.now() + 600_000, sleep: async () => {} },
      ),
    ).rejects.toBe(broken);
    expect(calls).toBe(1);
  });

  it('gives up when the next wait would pass the deadline', async () => {
    let calls = 0;
    await expect(
      retryUntilReachable(
        async () => {
          calls += 1;
          throw refused;
        },
        { deadline: Date.now() + 2_500, sleep: async () => {} },
      ),
    ).rejects.toBe(refused);
    // The sleep does not move the clock: waits of 1 s and 2 s fit in 2.5 s, one of 4 s does not.
    expect(calls).toBe(3);
  });

  it('knows unreachable from broken', () => {
    expect(isUnreachable(refused)).toBe(true);
    expect(isUnreachable(Object.assign(new Error('starting'), { code: '57P03' }))).toBe(true);
    expect(isUnreachable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isUnreachable(Object.assign(new Error('denied'), { code: '28P01' }))).toBe(false);
  });
});

describe('housekeeping batches', () => {
  it('grow while full batches are fast, until a short batch says the table is drained', async () => {
    let backlog = 100_000;
    const sizes: number[] = [];
    const result = await purgeInBatches(
      async (limit) => {
        sizes.push(limit);
        const deleted = Math.min(limit, backlog);
        backlog -= deleted;
        return deleted;
      },
      {
        initialBatchSize: 1_000,
        maxBatchSize: 16_000,
        targetBatchMs: 60_000,
        remainingMs: () => 60_000,
        reserveMs: 1_000,
      },
    );
    expect(sizes.slice(0, 5)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
    expect(result).toMatchObject({ deleted: 100_000, drained: true, largestBatch: 16_000 });
  });

  it('stops when the run has no time left, and says it did not catch up', async () => {
    let now = 0;
    const result = await purgeInBatches(
      async (limit) => {
        now += 10_000;
        return limit;
      },
      {
        initialBatchSize: 100,
        maxBatchSize: 100,
        targetBatchMs: 1,
        remainingMs: () => 30_000 - now,
        reserveMs: 5_000,
      },
    );
    expect(result).toMatchObject({ batches: 3, drained: false });
  });
});
