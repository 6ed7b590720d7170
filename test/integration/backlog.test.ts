import { describe, expect, it } from 'vitest';
import {
  insertBacklog,
  pipelineForThisFile,
  unpublishedEvents,
  waitFor,
} from '../support/pipeline.ts';

const stack = pipelineForThisFile();

const BACKLOG = 18_000;
const LIMIT_PER_SECOND = 500; // the default RELAY_MAX_EVENTS_PER_SECOND

/** Seconds over which the relay's publish rate is measured (see the assertion). */
const WINDOW_SECONDS = 5;

describe('an outbox backlog after a broker outage', () => {
  it('drains 18,000 events with the relay never publishing faster than its limit + 10 %', async () => {
    const { pipeline } = stack;
    await insertBacklog(pipeline, BACKLOG);
    // The consumer is already polling when the broker comes back, as it would be in AWS.
    await pipeline.startConsumer({ LOCAL_CONSUMER_POLLERS: '8' });
    const started = Date.now();
    const relay = await pipeline.startRelay({
      RELAY_MAX_EVENTS_PER_SECOND: String(LIMIT_PER_SECOND),
    });

    await waitFor('outbox drained', async () => (await unpublishedEvents(pipeline)) === 0, 120_000);
    const seconds = (Date.now() - started) / 1000;
    await waitFor(
      'ledger caught up',
      async () =>
        (await pipeline.db.pool.query('SELECT count(*)::int AS n FROM ledger.inbox')).rows[0].n ===
        BACKLOG,
      60_000,
    );

    // What the relay controls: how many events it marked published, by its own timestamps.
    // published_at is the start of the transaction that claimed a batch of 100, so one-second
    // bins jitter by a batch; a five-second window shows the rate itself. A loaded machine can
    // only make the relay slower than the limit, never faster.
    const { rows: windows } = await pipeline.db.pool.query<{ published: number }>(
      `WITH per_second AS (
         SELECT date_trunc('second', published_at) AS second, count(*) AS n FROM outbox GROUP BY 1)
       SELECT sum(n) OVER (ORDER BY second
                           RANGE BETWEEN CURRENT ROW AND interval '${WINDOW_SECONDS - 1} seconds' FOLLOWING)::int AS published
         FROM per_second ORDER BY published DESC LIMIT 1`,
    );
    const busiestWindow = windows[0]?.published ?? 0;
    const perSecond = async (sql: string) =>
      (await pipeline.db.pool.query(sql)).rows.map((row) => row.n).join(' ');
    console.log(
      'published/s',
      await perSecond(
        `SELECT count(*)::int AS n FROM outbox GROUP BY date_trunc('second', published_at) ORDER BY date_trunc('second', published_at)`,
      ),
    );
    // The consumer's applied peak is a benchmark figure (npm run bench), not asserted here:
    // how bunched its applications are depends on how the machine schedules it.
    console.log(
      'applied/s',
      await perSecond(
        `SELECT count(*)::int AS n FROM ledger.inbox GROUP BY date_trunc('second', processed_at) ORDER BY date_trunc('second', processed_at)`,
      ),
    );
    console.log(
      `backlog ${BACKLOG} at ${LIMIT_PER_SECOND}/s: published in ${seconds.toFixed(1)} s, ` +
        `busiest ${WINDOW_SECONDS} s ${busiestWindow} (${(busiestWindow / WINDOW_SECONDS / LIMIT_PER_SECOND).toFixed(2)} × limit)`,
    );
    expect(busiestWindow).toBeLessThanOrEqual(WINDOW_SECONDS * LIMIT_PER_SECOND * 1.1);
    // At the limit it cannot be faster than BACKLOG / LIMIT seconds: proof the limiter was on.
    expect(seconds).toBeGreaterThanOrEqual((BACKLOG / LIMIT_PER_SECOND) * 0.9);

    await waitFor(
      'lag reported back near zero',
      async () => relay.metrics.value('outbox_lag_seconds') < 2,
      10_000,
    );
    // The waits above are bounded on their own; a loaded machine drains slower, never faster.
  }, 240_000);
});
