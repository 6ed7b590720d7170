import { afterEach, describe, expect, it } from 'vitest';
import { type AttemptRecord, ChargeClient, ClientMetrics } from '../../../client/index.ts';
import { problem, type ScriptedServer, startScriptedServer } from './scripted-server.ts';

const API_KEY = 'test-api-key';
const INPUT = { amount: 1000, currency: 'EUR', customerId: 'c1' };

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The server's idempotency in miniature: first body per key wins, same body replays, other 422. */
function idempotentServer() {
  const firstBody = new Map<string, string>();
  return startScriptedServer((request) => {
    const key = request.key ?? '';
    const stored = firstBody.get(key);
    if (stored === undefined) {
      firstBody.set(key, request.body);
      return { status: 201, body: { id: `ch_${key}`, ...JSON.parse(request.body) } };
    }
    if (stored === request.body) {
      return {
        status: 201,
        headers: { 'Idempotent-Replayed': 'true' },
        body: { id: `ch_${key}`, ...JSON.parse(stored) },
      };
    }
    return {
      status: 422,
      body: problem(422, 'idempotency-key-reused', 'This key was used with a different body.'),
    };
  });
}

describe('the retrying client on the wire', () => {
  it('gets 422 for a key reused with a changed body and does not retry it', async () => {
    server = await idempotentServer();
    const lines: string[] = [];
    const client = new ChargeClient({
      baseUrl: server.url,
      apiKey: API_KEY,
      transcript: (line) => lines.push(line),
    });
    const key = 'order-2024-0001';

    const first = await client.createCharge(INPUT, { idempotencyKey: key });
    const replay = await client.createCharge(INPUT, { idempotencyKey: key });
    const reused = await client.createCharge({ ...INPUT, amount: 2000 }, { idempotencyKey: key });

    expect(first).toMatchObject({ status: 201, replayed: false, attempts: 1 });
    expect(replay).toMatchObject({ status: 201, replayed: true, attempts: 1, body: first.body });
    expect(reused).toMatchObject({ ok: false, status: 422, attempts: 1 });
    expect(reused.body).toMatchObject({ type: '/problems/idempotency-key-reused', status: 422 });
    expect(server.requestsFor(key)).toHaveLength(3);

    const transcript = lines.map((line) => JSON.parse(line) as AttemptRecord);
    console.log(`transcript of key reuse with a changed body:\n${lines.join('\n')}`);
    expect(transcript).toHaveLength(3);
    expect(transcript[2]).toMatchObject({
      key,
      attempt: 1,
      status: 422,
      decision: 'return',
      reason: 'not retryable',
    });
  });

  it('waits out a 503 with Retry-After: 2 before the next attempt (real time)', async () => {
    server = await startScriptedServer((request, self) =>
      self.requestsFor(request.key ?? '').length === 1
        ? { status: 503, headers: { 'Retry-After': '2' }, body: problem(503, 'busy', 'Later.') }
        : { status: 201, body: { id: 'ch_1' } },
    );
    const records: AttemptRecord[] = [];
    const lines: string[] = [];
    // With a 10 ms base and cap the jitter is under 10 ms: any longer wait is the
    // Retry-After floor at work.
    const client = new ChargeClient({
      baseUrl: server.url,
      apiKey: API_KEY,
      baseDelayMs: 10,
      capDelayMs: 10,
      onAttempt: (record) => records.push(record),
      transcript: (line) => lines.push(line),
    });

    const result = await client.createCharge(INPUT);

    const [first, second] = server.requestsFor(result.idempotencyKey);
    const gapMs = (second?.at ?? 0) - (first?.at ?? 0);
    console.log(
      `Retry-After: 2 → next attempt arrived ${gapMs.toFixed(1)} ms later\n${lines.join('\n')}`,
    );
    expect(result).toMatchObject({ status: 201, attempts: 2 });
    expect(gapMs).toBeGreaterThanOrEqual(2_000);
    expect(gapMs).toBeLessThan(3_000);
    expect(records[0]).toMatchObject({ status: 503, retryAfter: '2', retryAfterMs: 2_000 });
    // The 10 ms cap bounds the jitter on top of the 2 s floor.
    expect(records[0]?.nextDelayMs).toBe(2_000 + (records[0]?.jitterMs ?? Number.NaN));
    expect(records[0]?.jitterMs).toBeLessThan(10);
    expect(records[1]).toMatchObject({ attempt: 2, delayMs: records[0]?.nextDelayMs, status: 201 });
  });

  it('spreads the first retries of 200 clients failing at once over the whole window', async () => {
    const capMs = 1_500;
    server = await startScriptedServer(() => ({
      status: 503,
      body: problem(503, 'unavailable', 'Down.'),
    }));
    const metrics = new ClientMetrics();
    const delays = new Map<string, number>();
    const clients = Array.from(
      { length: 200 },
      () =>
        new ChargeClient({
          baseUrl: server?.url ?? '',
          apiKey: API_KEY,
          maxAttempts: 2,
          // base = cap: the first retry already draws from the whole [0, cap) window.
          baseDelayMs: capMs,
          capDelayMs: capMs,
          metrics,
          onAttempt: (record) => {
            if (record.attempt === 2) delays.set(record.key, record.delayMs);
          },
        }),
    );

    const results = await Promise.all(clients.map((client) => client.createCharge(INPUT)));

    expect(results.every((result) => result.status === 503 && result.attempts === 2)).toBe(true);
    expect(delays.size).toBe(200);
    const values = [...delays.values()];
    const buckets = Array.from({ length: capMs / 100 }, () => 0);
    for (const value of values) {
      const index = Math.floor(value / 100);
      buckets[index] = (buckets[index] ?? 0) + 1;
    }
    // What the server saw: each client's second request came at least its delay later.
    const serverGaps = [...delays.entries()].map(([key, delayMs]) => {
      const [first, second] = server?.requestsFor(key) ?? [];
      return { delayMs, gapMs: (second?.at ?? 0) - (first?.at ?? 0) };
    });
    const nearZero = values.filter((value) => value < 10).length / values.length;
    const nearCap = values.filter((value) => value > capMs - 10).length / values.length;
    console.log(
      [
        `first-retry delays of 200 clients (full jitter, window [0, ${capMs}) ms):`,
        ...buckets.map(
          (count, index) =>
            `  ${String(index * 100).padStart(4)}-${String(index * 100 + 99).padStart(4)} ms ${String(count).padStart(3)} ${'#'.repeat(count)}`,
        ),
        `  min ${Math.min(...values)} ms, max ${Math.max(...values)} ms, mean ${(values.reduce((a, b) => a + b, 0) / values.length).toFixed(0)} ms`,
        `  < 10 ms: ${(nearZero * 100).toFixed(1)} %, > cap-10 ms: ${(nearCap * 100).toFixed(1)} %`,
        `  largest bucket: ${((Math.max(...buckets) / values.length) * 100).toFixed(1)} %`,
        metrics
          .render()
          .split('\n')
          .filter((line) => line.startsWith('retry_delay_seconds'))
          .join('\n'),
      ].join('\n'),
    );

    expect(values.every((value) => value >= 0 && value < capMs)).toBe(true);
    expect(Math.max(...buckets)).toBeLessThanOrEqual(0.15 * values.length);
    expect(nearZero).toBeLessThanOrEqual(0.03);
    expect(nearCap).toBeLessThanOrEqual(0.03);
    for (const { delayMs, gapMs } of serverGaps) expect(gapMs).toBeGreaterThanOrEqual(delayMs - 1);
    expect(metrics.snapshot().retry_delay_seconds.count).toBe(200);
    expect(metrics.snapshot().retry_attempt_total).toMatchObject({ '1': 200, '2': 200 });
  });
});
