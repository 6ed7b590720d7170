/**
 * Runbook picture 3: growing outbox lag (alarm: outbox_lag_seconds > 30 s).
 *
 *   node scripts/runbook/outbox-lag.ts --database-url postgres://… [--url http://127.0.0.1:3000]
 *     [--duration 45] [--rate 5]
 *
 * (npm start prints its DATABASE_URL.) Plays a relay that cannot publish, as in a broker
 * outage, a relay that is not scheduled, or one hung mid-publish: while charges keep coming
 * through the API, this script claims every new outbox row first, with the relay's own
 * `FOR UPDATE SKIP LOCKED`, and holds the locks for `duration` seconds, so the relay skips
 * them. Nothing is changed or deleted. On the dashboard: charge_created_total climbs while
 * ledger_applied_total stays flat, outbox_lag_seconds grows past the 30 s alarm line; when the
 * locks go, the relay drains the backlog (at RELAY_MAX_EVENTS_PER_SECOND) and the lag drops.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { dashboardClient, paced, randomCharge, runbookArgs } from './common.ts';

const USAGE =
  'node scripts/runbook/outbox-lag.ts --database-url URL [--url URL] [--api-key KEY] [--duration S] [--rate N]';
const args = runbookArgs(USAGE, { duration: 45, rate: 5 }, { 'database-url': { type: 'string' } });
const databaseUrl = (args.values['database-url'] as string | undefined) ?? process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error(`--database-url is required (npm start prints DATABASE_URL=…)\n\n${USAGE}`);
  process.exit(2);
}

const holder = new pg.Client({ connectionString: databaseUrl });
await holder.connect();
await holder.query('BEGIN');
const held = new Set<string>();
let holding = true;
const grab = (async () => {
  while (holding) {
    // Poll faster than the relay's schedule, so new rows are claimed here first.
    const { rows } = await holder.query<{ event_id: string }>(
      'SELECT event_id FROM outbox WHERE published_at IS NULL FOR UPDATE SKIP LOCKED',
    );
    for (const row of rows) held.add(row.event_id);
    await sleep(50);
  }
})();

const { client, stop } = dashboardClient('outbox-lag', args.url, {
  baseUrl: args.url,
  apiKey: args.apiKey,
});
console.log(
  `holding every new outbox row for ${args.durationSeconds} s while sending ${args.rate} charges/s`,
);
console.log(
  `watch ${args.url}/dashboard: outbox_lag_seconds (alarm line 30 s), created vs applied`,
);
await paced(
  args.durationSeconds,
  args.rate,
  () => client.createCharge(randomCharge()),
  (elapsed) => {
    if (elapsed % 5 === 0)
      console.log(`[${elapsed}s] outbox rows held back from the relay: ${held.size}`);
  },
);
holding = false;
await grab;
await holder.query('ROLLBACK');
await holder.end();
await stop();
console.log(
  `released ${held.size} rows: the relay drains them now; the lag returns to 0 within a few seconds`,
);
