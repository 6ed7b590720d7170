import { describe, expect, it } from 'vitest';
import {
  insertBacklog,
  pipelineForThisFile,
  unpublishedEvents,
  waitFor,
} from '../support/pipeline.ts';

const stack = pipelineForThisFile();

const BACKLOG = 18_000;
const LIMIT_PER_SECOND = 500;

describe('three relays over one outbox backlog', () => {
  it('publish at the one configured rate between them, and the ledger applies every customer in commit order', async () => {
    const { pipeline } = stack;
    await insertBacklog(pipeline, BACKLOG);
    await pipeline.startConsumer({ LOCAL_CONSUMER_POLLERS: '8' });
    // Short invocations (12 s of draining each) so the lease changes hands during the drain.
    const env = {
      RELAY_MAX_EVENTS_PER_SECOND: String(LIMIT_PER_SECOND),
      LOCAL_RELAY_TIMEOUT_MS: '32000',
    };
    const relays = await Promise.all([1, 2, 3].map(() => pipeline.startRelay(env)));

    await waitFor('outbox drained', async () => (await unpublishedEvents(pipeline)) === 0, 150_000);
    await waitFor(
      'ledger caught up',
      async () =>
        (await pipeline.db.pool.query('SELECT count(*)::int AS n FROM ledger.inbox')).rows[0].n ===
        BACKLOG,
      60_000,
    );

    const { rows: perSecond } = await pipeline.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbox
        GROUP BY date_trunc('second', published_at) ORDER BY date_trunc('second', published_at)`,
    );
    const published = perSecond.map((row) => row.n);
    const peak = Math.max(...published);
    console.log(
      `three relays, ${BACKLOG} events at ${LIMIT_PER_SECOND}/s: published per second ${published.join(' ')}; ` +
        `peak ${peak} (${(peak / LIMIT_PER_SECOND).toFixed(2)} × limit); per relay ` +
        relays.map((relay) => relay.metrics.value('relay_published_total')).join(' + '),
    );
    expect(peak).toBeLessThanOrEqual(LIMIT_PER_SECOND * 1.1);
    // Every event sent once, by whichever relay held the lease.
    await waitFor(
      'metrics flushed',
      async () =>
        relays.reduce((sum, relay) => sum + relay.metrics.value('relay_published_total'), 0) ===
        BACKLOG,
    );
    expect(await pipeline.queueDepth(pipeline.queues.queueUrl)).toBe(0);

    // Commit order per customer: the backlog's rows committed in (created_at, event_id) order;
    // the ledger's postings (an identity column) must list each customer's events in that order.
    const { rows: outOfOrder } = await pipeline.db.pool.query<{ n: number }>(
      `WITH applied AS (
         SELECT o.aggregate_id,
                row_number() OVER (PARTITION BY o.aggregate_id ORDER BY o.created_at, o.event_id) AS committed,
                row_number() OVER (PARTITION BY o.aggregate_id ORDER BY p.id) AS applied
           FROM outbox o JOIN ledger.postings p ON p.event_id = o.event_id AND p.direction = 'debit'
       )
       SELECT count(*)::int AS n FROM applied WHERE committed <> applied`,
    );
    const { rows: customers } = await pipeline.db.pool.query<{ n: number }>(
      'SELECT count(DISTINCT aggregate_id)::int AS n FROM outbox',
    );
    expect(customers[0]?.n).toBe(200);
    expect(outOfOrder[0]?.n).toBe(0);
  }, 240_000);
});
