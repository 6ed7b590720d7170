import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import { insertOutboxBacklog } from '../local/outbox-backlog.ts';
import type { ChargeEventQueues } from '../local/sqs.ts';
import { ChargeClient, newChargeCall, openLoop } from './http-load.ts';
import { BENCH_API_KEY, type BenchProcess, type BenchStack } from './stack.ts';
import { percentile } from './stats.ts';

/** The backlog fixture, analysed so the relay's first claims get the partial index plan. */
export async function insertBacklog(pool: pg.Pool, count: number): Promise<void> {
  await insertOutboxBacklog(pool, count, 'bench-backlog');
  await pool.query('ANALYZE outbox');
}

async function count(pool: pg.Pool, sql: string): Promise<number> {
  return (await pool.query<{ n: number }>(sql)).rows[0]?.n ?? 0;
}

const unpublished = (pool: pg.Pool) =>
  count(pool, 'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
const applied = (pool: pg.Pool) => count(pool, 'SELECT count(*)::int AS n FROM ledger.inbox');

async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await probe()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface RelayResult {
  eventsPerSecond: number;
  events: number;
  seconds: number;
}

/**
 * The relay with no effective rate limit over a pre-inserted backlog: events per second from
 * the relay process being ready to the outbox being empty (no consumer running).
 */
export async function measureUnthrottledRelay(
  stack: BenchStack,
  events: number,
): Promise<RelayResult> {
  const db = await stack.createDatabase('relay');
  const queues = await stack.createQueues('relay');
  await insertBacklog(db.pool, events);
  const relay = await stack.startRelay(db.url, queues, {
    RELAY_MAX_EVENTS_PER_SECOND: '1000000000',
  });
  const started = performance.now();
  await waitUntil('outbox drained', async () => (await unpublished(db.pool)) === 0, 300_000, 25);
  const seconds = (performance.now() - started) / 1000;
  await stack.stopProcess(relay);
  await deleteQueues(stack, queues);
  return { eventsPerSecond: events / seconds, events, seconds };
}

export interface BacklogResult {
  limit: number;
  backlog: number;
  drainSeconds: number;
  peakPerSecond: number;
  peakRatio: number;
  appliedPerSecond: number[];
  publishedPerSecond: number[];
}

export interface PipelineHandles {
  databaseUrl: string;
  pool: pg.Pool;
  queues: ChargeEventQueues;
  /** The relay running on the database. */
  relay: BenchProcess;
}

/**
 * An outbox backlog drained at the configured limit, with the consumer polling before the
 * relay starts (as after a broker outage): the consumer's peak applications in one second,
 * from ledger.inbox.processed_at, against the limit. The relay (default schedule) and the
 * consumer keep running for the end-to-end measurement, which reuses the database.
 */
export async function measureBacklog(
  stack: BenchStack,
  options: { backlog: number; limit: number; consumerPollers: number },
): Promise<BacklogResult & PipelineHandles> {
  const db = await stack.createDatabase('pipeline');
  const queues = await stack.createQueues('pipeline');
  await insertBacklog(db.pool, options.backlog);
  await stack.startConsumer(db.url, queues, {
    LOCAL_CONSUMER_POLLERS: String(options.consumerPollers),
  });
  const started = performance.now();
  const relay = await stack.startRelay(db.url, queues, {
    RELAY_MAX_EVENTS_PER_SECOND: String(options.limit),
  });
  const expectedSeconds = options.backlog / options.limit;
  await waitUntil(
    'ledger caught up with the backlog',
    async () => (await applied(db.pool)) >= options.backlog,
    expectedSeconds * 3_000 + 60_000,
    100,
  );
  const drainSeconds = (performance.now() - started) / 1000;
  const perSecond = async (column: string, table: string) =>
    (
      await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE ${column} IS NOT NULL
          GROUP BY date_trunc('second', ${column}) ORDER BY date_trunc('second', ${column})`,
      )
    ).rows.map((row) => row.n);
  const appliedPerSecond = await perSecond('processed_at', 'ledger.inbox');
  const peakPerSecond = Math.max(0, ...appliedPerSecond);
  return {
    limit: options.limit,
    backlog: options.backlog,
    drainSeconds,
    peakPerSecond,
    peakRatio: peakPerSecond / options.limit,
    appliedPerSecond,
    publishedPerSecond: await perSecond('published_at', 'outbox'),
    databaseUrl: db.url,
    pool: db.pool,
    queues,
    relay,
  };
}

export interface EndToEndResult {
  charges: number;
  p50Ms: number;
  p99Ms: number;
  /** charges.created_at → outbox.published_at: the relay's idle poll and its send. */
  toPublishedP50Ms: number;
  /** outbox.published_at → ledger.inbox.processed_at: SQS, the poller, the consumer. */
  publishedToLedgerP50Ms: number;
  publishedToLedgerP99Ms: number;
}

/**
 * From the 201 to the ledger: new charges through the API, paced, with the relay running as
 * in AWS (functions/relay/relay-settings.ts: always draining, polling an empty outbox every
 * 10–50 ms) and the consumer polling; times from the database clock (charges.created_at to
 * ledger.inbox.processed_at, joined through the outbox event).
 */
export async function measureEndToEnd(
  stack: BenchStack,
  pipeline: PipelineHandles,
  options: { charges: number; ratePerSecond: number },
): Promise<EndToEndResult> {
  const api = await stack.startApi(pipeline.databaseUrl);
  const client = new ChargeClient(api.url, BENCH_API_KEY, 32);
  const before = await applied(pipeline.pool);
  try {
    const load = await openLoop({
      ratePerSecond: options.ratePerSecond,
      total: options.charges,
      send: () => client.post(newChargeCall()),
      expect: (result) => result.status === 201,
    });
    if (load.errors > 0) throw new Error(`e2e charges failed: ${load.firstError}`);
  } finally {
    client.close();
    await stack.stopProcess(api);
  }
  await waitUntil(
    'e2e charges in the ledger',
    async () => (await applied(pipeline.pool)) >= before + options.charges,
    60_000,
    100,
  );
  const { rows } = await pipeline.pool.query<{ e2e: number; publish: number; ledger: number }>(
    `SELECT extract(epoch FROM i.processed_at - c.created_at)::float8 * 1000 AS e2e,
            extract(epoch FROM o.published_at - c.created_at)::float8 * 1000 AS publish,
            extract(epoch FROM i.processed_at - o.published_at)::float8 * 1000 AS ledger
       FROM charges c
       JOIN outbox o ON o.payload->>'chargeId' = c.id::text
       JOIN ledger.inbox i ON i.event_id = o.event_id`,
  );
  const pick = (key: 'e2e' | 'publish' | 'ledger') => rows.map((row) => row[key]);
  return {
    charges: rows.length,
    p50Ms: percentile(pick('e2e'), 50),
    p99Ms: percentile(pick('e2e'), 99),
    toPublishedP50Ms: percentile(pick('publish'), 50),
    publishedToLedgerP50Ms: percentile(pick('ledger'), 50),
    publishedToLedgerP99Ms: percentile(pick('ledger'), 99),
  };
}

async function deleteQueues(stack: BenchStack, queues: ChargeEventQueues): Promise<void> {
  for (const url of [queues.queueUrl, queues.deadLetterQueueUrl]) {
    await stack.sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => {});
  }
}
