/**
 * Runbook picture 1: a 422 spike (alarm: mismatch > 0.1 % of POSTs).
 *
 *   node scripts/runbook/mismatch-spike.ts [--url http://127.0.0.1:3000] [--duration 60]
 *     [--rate 20] [--share 0.05]
 *
 * Sends ordinary charges, and reuses `share` of their keys with a changed body, as a client
 * whose key generation is broken would (e.g. a key derived from the customer, not the charge).
 * On the dashboard: idempotency_key_total{outcome="mismatch"} climbs, the mismatch tile turns
 * red, http_request_outcome 4xx rises; charge_created_total and ledger_applied_total do not
 * move for the 422s: nothing was charged.
 */
import { randomUUID } from 'node:crypto';
import { dashboardClient, paced, randomCharge, runbookArgs } from './common.ts';

const USAGE = `node scripts/runbook/mismatch-spike.ts [--url URL] [--api-key KEY] [--duration S] [--rate N] [--share F]`;
const args = runbookArgs(
  USAGE,
  { duration: 60, rate: 20 },
  { share: { type: 'string', default: '0.05' } },
);
const share = Number(args.values.share);

const { client, stop } = dashboardClient('mismatch', args.url, {
  baseUrl: args.url,
  apiKey: args.apiKey,
  maxAttempts: 3,
});
let created = 0;
let refused = 0;
console.log(
  `sending ${args.rate}/s for ${args.durationSeconds} s; ${share * 100} % reuse a key with another body`,
);
console.log(
  `watch ${args.url}/dashboard: the mismatch tile and idempotency_key_total{outcome="mismatch"}`,
);
await paced(
  args.durationSeconds,
  args.rate,
  async () => {
    const key = randomUUID();
    const body = randomCharge();
    const first = await client.createCharge(body, { idempotencyKey: key });
    if (first.ok) created += 1;
    if (Math.random() < share) {
      // The bug being reproduced: the same key for what is really another charge.
      const second = await client.createCharge(
        { ...body, amount: body.amount + 1 },
        { idempotencyKey: key },
      );
      if (second.status === 422) refused += 1;
    }
  },
  (elapsed) => {
    if (elapsed % 5 === 0)
      console.log(`[${elapsed}s] created ${created}, refused with 422: ${refused}`);
  },
);
await stop();
console.log(
  `done: ${created} charges, ${refused} key reuses refused with 422 (nothing charged for them)`,
);
