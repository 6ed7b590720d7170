/**
 * Runbook picture 2: an attempt-3 surge (alarm: retry_attempt_total{attempt="3"} above baseline).
 *
 *   node scripts/runbook/attempt3-surge.ts [--url http://127.0.0.1:3000] [--duration 60]
 *     [--rate 20] [--lost 0.5] [--delay-ms 0] [--outage-s 0]
 *
 * Puts a fault proxy between a retrying client and the API that loses `lost` of the answers
 * after the server committed them (or delays them, or plays a 503 outage for the first
 * `outage-s` seconds), so first and second attempts fail and third attempts pile up. On the
 * dashboard: retry_attempt_total{attempt="2"|"3"} rates climb, http_request_outcome shows
 * `network`/`timeout`/`5xx`, retry_delay_seconds grows one wide hump (full jitter), the server
 * answers replays (idempotency_key_total{outcome="replay"}) and, because every retry reuses its
 * key, charge_created_total still equals the logical charges.
 */
import { RetryBudget } from '../../client/index.ts';
import { createFaultProxy } from '../fault-proxy/fault-proxy.ts';
import { dashboardClient, paced, randomCharge, runbookArgs } from './common.ts';

const USAGE =
  'node scripts/runbook/attempt3-surge.ts [--url URL] [--api-key KEY] [--duration S] [--rate N] [--lost F] [--delay-ms MS] [--outage-s S]';
const args = runbookArgs(
  USAGE,
  { duration: 60, rate: 20 },
  {
    lost: { type: 'string', default: '0.5' },
    'delay-ms': { type: 'string', default: '0' },
    'outage-s': { type: 'string', default: '0' },
  },
);
const proxy = await createFaultProxy({
  target: args.url,
  faults: {
    lostResponse: {
      fraction: Number(args.values.lost),
      match: (request) => request.url === '/charge',
    },
    delayMs: Number(args.values['delay-ms']),
    ...(Number(args.values['outage-s']) > 0
      ? { outage: { durationMs: Number(args.values['outage-s']) * 1000, retryAfterSeconds: 1 } }
      : {}),
  },
});
const { client, metrics, stop } = dashboardClient('attempt3', args.url, {
  baseUrl: proxy.url,
  apiKey: args.apiKey,
  maxAttempts: 5,
  perAttemptTimeoutMs: 2_000,
  retryBudget: new RetryBudget(),
});
let ok = 0;
let unknown = 0;
console.log(
  `${args.rate}/s for ${args.durationSeconds} s through a proxy losing ${Number(args.values.lost) * 100} % of answers`,
);
console.log(
  `watch ${args.url}/dashboard: retry_attempt_total by attempt, http_request_outcome, retry_delay_seconds`,
);
await paced(
  args.durationSeconds,
  args.rate,
  async () => {
    try {
      if ((await client.createCharge(randomCharge())).ok) ok += 1;
    } catch {
      unknown += 1; // no final answer: a real caller retries later with the same key
    }
  },
  (elapsed) => {
    if (elapsed % 5 !== 0) return;
    const attempts = metrics.snapshot().retry_attempt_total;
    console.log(`[${elapsed}s] ok ${ok}, unknown ${unknown}, attempts ${JSON.stringify(attempts)}`);
  },
);
await stop();
await proxy.close();
console.log(
  `done: ${ok} charged, ${unknown} without a final answer; attempts ${JSON.stringify(metrics.snapshot().retry_attempt_total)}`,
);
