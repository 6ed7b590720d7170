import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqsEndpoint } from '../../scripts/local/sqs.ts';
import {
  createPipeline,
  insertBacklog,
  type Pipeline,
  startSqsEndpoint,
  unpublishedEvents,
  waitFor,
} from '../support/pipeline.ts';

let endpoint: SqsEndpoint;
let pipeline: Pipeline;

beforeAll(async () => {
  endpoint = await startSqsEndpoint();
  pipeline = await createPipeline(endpoint);
});
afterAll(async () => {
  await pipeline?.stop();
  await endpoint?.stop();
});

const BACKLOG = 18_000;
const LIMIT_PER_SECOND = 500; // the default RELAY_MAX_EVENTS_PER_SECOND

describe('an outbox backlog after a broker outage', () => {
  it('drains 18,000 events without the consumer ever applying more than the relay limit + 10 % per second', async () => {
    await insertBacklog(pipeline, BACKLOG);
    // The consumer is already polling when the broker comes back, as it would be in AWS.
    await pipeline.startConsumer({ LOCAL_CONSUMER_POLLERS: '8' });
    const started = Date.now();
    const relay = await pipeline.startRelay({
      RELAY_MAX_EVENTS_PER_SECOND: String(LIMIT_PER_SECOND),
    });

    await waitFor('outbox drained', async () => (await unpublishedEvents(pipeline)) === 0, 120_000);
    await waitFor(
      'ledger caught up',
      async () =>
        (await pipeline.db.pool.query('SELECT count(*)::int AS n FROM ledger.inbox')).rows[0].n ===
        BACKLOG,
      60_000,
    );
    const seconds = (Date.now() - started) / 1000;

    const { rows } = await pipeline.db.pool.query<{ applied: number }>(
      `SELECT count(*)::int AS applied FROM ledger.inbox
        GROUP BY date_trunc('second', processed_at) ORDER BY applied DESC`,
    );
    const peak = rows[0]?.applied ?? 0;
    const perSecond = async (sql: string) =>
      (await pipeline.db.pool.query(sql)).rows.map((row) => row.n).join(' ');
    console.log(
      'published/s',
      await perSecond(
        `SELECT count(*)::int AS n FROM outbox GROUP BY date_trunc('second', published_at) ORDER BY date_trunc('second', published_at)`,
      ),
    );
    console.log(
      'applied/s',
      await perSecond(
        `SELECT count(*)::int AS n FROM ledger.inbox GROUP BY date_trunc('second', processed_at) ORDER BY date_trunc('second', processed_at)`,
      ),
    );
    console.log(
      `backlog ${BACKLOG} at ${LIMIT_PER_SECOND}/s: drained in ${seconds.toFixed(1)} s, ` +
        `consumer peak ${peak}/s (${(peak / LIMIT_PER_SECOND).toFixed(2)} × limit), ${rows.length} seconds with applications`,
    );
    expect(peak).toBeLessThanOrEqual(LIMIT_PER_SECOND * 1.1);
    // At the limit it cannot be faster than BACKLOG / LIMIT seconds: proof the limiter was on.
    expect(seconds).toBeGreaterThanOrEqual((BACKLOG / LIMIT_PER_SECOND) * 0.9);

    await waitFor(
      'lag reported back near zero',
      async () => relay.metrics.value('outbox_lag_seconds') < 2,
      10_000,
    );
  });
});
