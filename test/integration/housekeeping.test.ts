import { PostgresPersistenceLayer } from '@effectively-once/powertools-idempotency-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHousekeeping } from '../../functions/housekeeping/housekeeping.ts';
import {
  INBOX_RETENTION_SECONDS,
  PUBLISHED_OUTBOX_RETENTION_SECONDS,
} from '../../functions/housekeeping/retention.ts';
import { DEFAULT_CONFIG } from '../../lib/config.ts';
import { HOUSEKEEPING_SCHEDULE } from '../../lib/stateless-stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * Issue 16, item 7. The default write rate is the usage plan's steady rate per key
 * (DEFAULT_CONFIG.apiRateLimit, 100 charges/s); at 10 times that, every minute (one
 * housekeeping schedule) leaves 60,000 rows per table past their retention. Each simulated
 * minute below writes that many already-purgeable rows into each table, plus rows still
 * inside their retention, then runs one housekeeping pass with the function's time budget.
 */
const WRITES_PER_SECOND = DEFAULT_CONFIG.apiRateLimit * 10;
const ROWS_PER_RUN = WRITES_PER_SECOND * HOUSEKEEPING_SCHEDULE.toSeconds();
const LIVE_ROWS_PER_RUN = 500;
const RUNS = 3;

describe(`housekeeping at 10x the default write rate (${WRITES_PER_SECOND}/s)`, () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** One minute of writes: `purgeable` rows past retention and `live` rows inside it, per table. */
  async function writeOneMinute(purgeable: number, live: number): Promise<void> {
    await db.pool.query(
      `INSERT INTO idempotency_records (id, status, expires_at, claim_token)
       SELECT gen_random_uuid()::text, 'COMPLETED',
              CASE WHEN n <= $1::int THEN now() - interval '1 second' ELSE now() + interval '1 day' END,
              gen_random_uuid()
         FROM generate_series(1, $1::int + $2::int) AS n`,
      [purgeable, live],
    );
    await db.pool.query(
      `INSERT INTO outbox (aggregate_id, event_type, payload, published_at, bus_published_at)
       SELECT 'cus_' || n, 'charge.created', '{}'::jsonb, at, at
         FROM generate_series(1, $1::int + $2::int) AS n,
              LATERAL (SELECT CASE WHEN n <= $1::int THEN now() - make_interval(secs => $3::int + 1)
                                   ELSE now() END AS at) AS published`,
      [purgeable, live, PUBLISHED_OUTBOX_RETENTION_SECONDS],
    );
    await db.pool.query(
      `INSERT INTO ledger.inbox (event_id, processed_at)
       SELECT gen_random_uuid(),
              CASE WHEN n <= $1::int THEN now() - make_interval(secs => $3::int + 1) ELSE now() END
         FROM generate_series(1, $1::int + $2::int) AS n`,
      [purgeable, live, INBOX_RETENTION_SECONDS],
    );
  }

  async function tableSizes(): Promise<{ idempotency: number; outbox: number; inbox: number }> {
    const { rows } = await db.pool.query(
      `SELECT (SELECT count(*)::int FROM idempotency_records) AS idempotency,
              (SELECT count(*)::int FROM outbox) AS outbox,
              (SELECT count(*)::int FROM ledger.inbox) AS inbox`,
    );
    return rows[0];
  }

  it('keeps every table flat: each run purges the minute it was given, and only that', async () => {
    const idempotencyRecords = new PostgresPersistenceLayer({ pool: db.pool });
    // An unpublished outbox row is never purged, however old: the ledger has not seen it; nor
    // is one the queue took long ago but the bus has not yet.
    await db.pool.query(
      `INSERT INTO outbox (aggregate_id, event_type, payload, created_at, published_at)
       VALUES ('cus_pending', 'charge.created', '{}', now() - interval '400 days', NULL),
              ('cus_pending', 'charge.created', '{}', now() - interval '400 days',
               now() - interval '399 days')`,
    );
    const sizes: { idempotency: number; outbox: number; inbox: number }[] = [];
    const figures: string[] = [];
    for (let run = 1; run <= RUNS; run++) {
      await writeOneMinute(ROWS_PER_RUN, LIVE_ROWS_PER_RUN);
      const budgetMs = HOUSEKEEPING_SCHEDULE.toMilliseconds();
      const started = performance.now();
      const result = await runHousekeeping({
        db: db.pool,
        idempotencyRecords,
        remainingMs: () => budgetMs - (performance.now() - started),
      });
      const tookMs = Math.round(performance.now() - started);
      for (const table of Object.values(result)) {
        expect(table.drained).toBe(true);
        expect(table.deleted).toBe(ROWS_PER_RUN);
      }
      figures.push(
        `run ${run}: ${tookMs} ms, largest batch ${Math.max(...Object.values(result).map((t) => t.largestBatch))}`,
      );
      sizes.push(await tableSizes());
    }
    console.log(
      `housekeeping at ${WRITES_PER_SECOND}/s (${ROWS_PER_RUN} rows per table per run): ${figures.join('; ')}`,
    );
    // Flat: after each run only the rows still inside their retention remain.
    expect(sizes).toEqual(
      Array.from({ length: RUNS }, (_, i) => ({
        idempotency: LIVE_ROWS_PER_RUN * (i + 1),
        outbox: LIVE_ROWS_PER_RUN * (i + 1) + 2,
        inbox: LIVE_ROWS_PER_RUN * (i + 1),
      })),
    );
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = 'cus_pending'`,
    );
    expect(rows[0].n).toBe(2);
  });
});
