/**
 * Runbook picture 3: growing outbox lag (alarm: outbox_lag_seconds > 30 s).
 *
 *   node scripts/runbook/outbox-lag.ts --database-url postgres://… [--url http://127.0.0.1:3000]
 *     [--duration 45] [--rate 5]
 *
 * (npm start prints its DATABASE_URL.) Plays a relay that cannot publish, as in a broker
 * outage, a relay that is not scheduled, or one hung while holding the relay lease: while
 * charges keep coming through the API, this script takes the relay lease (a new fencing token)
 * for `duration` seconds, so the running relay stands by. No outbox row is changed. On the
 * dashboard: charge_created_total climbs while ledger_applied_total stays flat,
 * outbox_lag_seconds grows past the 30 s alarm line; when the lease lapses, the relay takes it
 * back, drains the backlog (at RELAY_MAX_EVENTS_PER_SECOND) and the lag drops.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { OUTBOX_RELAY_LEASE } from '../../functions/relay/relay-settings.ts';
import { handOverLease } from '../../functions/store/relay-lease-store.ts';
import { dashboardClient, paced, randomCharge, runbookArgs } from './common.ts';

const USAGE =
  'node scripts/runbook/outbox-lag.ts --database-url URL [--url URL] [--api-key KEY] [--duration S] [--rate N]';
const args = runbookArgs(USAGE, { duration: 45, rate: 5 }, { 'database-url': { type: 'string' } });
const databaseUrl = (args.values['database-url'] as string | undefined) ?? process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error(`--database-url is required (npm start prints DATABASE_URL=…)\n\n${USAGE}`);
  process.exit(2);
}

const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();
await handOverLease(db, OUTBOX_RELAY_LEASE, 'runbook-outbox-lag', args.durationSeconds * 1000);
const pending = async () =>
  (
    await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
    )
  ).rows[0]?.n ?? 0;

const { client, stop } = dashboardClient('outbox-lag', args.url, {
  baseUrl: args.url,
  apiKey: args.apiKey,
});
console.log(
  `holding the relay lease for ${args.durationSeconds} s while sending ${args.rate} charges/s`,
);
console.log(
  `watch ${args.url}/dashboard: outbox_lag_seconds (alarm line 30 s), created vs applied`,
);
await paced(
  args.durationSeconds,
  args.rate,
  () => client.createCharge(randomCharge()),
  async (elapsed) => {
    if (elapsed % 5 === 0)
      console.log(`[${elapsed}s] outbox rows waiting for the relay: ${await pending()}`);
  },
);
await sleep(1_000);
const waiting = await pending();
await db.end();
await stop();
console.log(
  `the lease lapses now: the relay drains ${waiting} rows; the lag returns to 0 within a few seconds`,
);
