import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AttemptRecord, ChargeClient } from '../../../client/index.ts';
import { seededRandom } from '../../../scripts/prove/random.ts';
import { problem, type ScriptedServer, startScriptedServer } from './scripted-server.ts';

const CLIENTS = 200;
let server: ScriptedServer;

beforeAll(async () => {
  // Every first attempt is answered 503 Retry-After: 1, every retry 201.
  server = await startScriptedServer((request, self) =>
    self.requestsFor(request.key ?? '').length === 1
      ? { status: 503, headers: { 'Retry-After': '1' }, body: problem(503, 'busy', 'Later.') }
      : { status: 201, body: { id: request.key } },
  );
});
afterAll(async () => {
  await server?.close();
});

/** The share of `values` in the fullest `width`-wide bucket. */
function largestBucketShare(values: number[], width: number): number {
  const buckets = new Map<number, number>();
  for (const value of values) {
    const bucket = Math.floor(value / width);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
  }
  return Math.max(...buckets.values()) / values.length;
}

it('spreads 200 clients answered 503 Retry-After: 1 at the same moment over a second, none before 1 s', async () => {
  const records: AttemptRecord[] = [];
  const results = await Promise.all(
    Array.from({ length: CLIENTS }, (_, index) =>
      new ChargeClient({
        baseUrl: server.url,
        apiKey: 'spread-test',
        // Seeded, so the spread is the policy's and not the luck of one run.
        random: seededRandom(index + 1).next,
        onAttempt: (record) => records.push(record),
      }).createCharge({ amount: 1000, currency: 'EUR', customerId: `cus_${index}` }),
    ),
  );
  expect(results.every((result) => result.status === 201 && result.attempts === 2)).toBe(true);

  // What each client chose to wait (the part the client controls): Retry-After + jitter.
  const retries = records.filter((record) => record.decision === 'retry');
  expect(retries).toHaveLength(CLIENTS);
  for (const record of retries) {
    expect(record).toMatchObject({ retryAfterMs: 1_000 });
    expect(record.nextDelayMs).toBe(1_000 + (record.jitterMs ?? Number.NaN));
  }
  const delays = retries.map((record) => record.nextDelayMs ?? 0);
  expect(Math.min(...delays)).toBeGreaterThanOrEqual(1_000);
  expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThanOrEqual(900);
  expect(largestBucketShare(delays, 100)).toBeLessThanOrEqual(0.15);

  // And on the wire: no retry reached the server less than 1 s after its 503 was sent.
  for (const result of results) {
    const [first, second] = server.requestsFor(result.idempotencyKey);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
  }
});
