import type { Queryable } from './database.ts';

/** An outbox row not yet published, as the relay claims it. */
export interface PendingEvent {
  eventId: string;
  aggregateId: string;
  eventType: string;
  payload: Record<string, unknown>;
  createdAt: Date;
  /** Times reconciliation re-enqueued this event (0 for its first publication). */
  republishCount: number;
}

interface OutboxRow {
  event_id: string;
  aggregate_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  created_at: Date;
  /** Null on the DSQL schema variant, whose added columns have no defaults. */
  republish_count: number | null;
}

const COLUMNS = 'event_id, aggregate_id, event_type, payload, created_at, republish_count';

function toPendingEvent(row: OutboxRow): PendingEvent {
  return {
    eventId: row.event_id,
    aggregateId: row.aggregate_id,
    eventType: row.event_type,
    payload: row.payload,
    createdAt: row.created_at,
    republishCount: row.republish_count ?? 0,
  };
}

/**
 * The oldest `limit` events not yet on the queue, in outbox order. A plain read: the relay
 * publishes with no transaction open (a lease, not row locks, keeps other relays out), so a
 * slow or hung broker never holds database locks or an idle transaction.
 */
export async function pendingEvents(db: Queryable, limit: number): Promise<PendingEvent[]> {
  const result = await db.query<OutboxRow>(
    `SELECT ${COLUMNS} FROM outbox WHERE published_at IS NULL
      ORDER BY created_at, event_id LIMIT $1`,
    [limit],
  );
  return result.rows.map(toPendingEvent);
}

/**
 * Marks `eventIds` published to the queue, only while `fencingToken` is still the current
 * token of lease `leaseName`. With `busToo`, the bus delivery is marked done as well (no bus
 * is configured, so there is nothing to deliver there).
 *
 * The relay marks every batch as soon as the queue takes it (so published_at is when it was
 * sent), which is many small commits: this statement's own transaction does not wait for its
 * WAL flush (synchronous_commit off, transaction-local, so nothing leaks into the session or
 * pins an RDS Proxy connection). A mark lost in a crash only means the event is sent again,
 * which SQS deduplication and the inbox absorb.
 * @returns whether the fence held, and how many rows were marked
 */
export async function markPublished(
  db: Queryable,
  eventIds: readonly string[],
  fence: { leaseName: string; fencingToken: string },
  options: { busToo: boolean },
): Promise<{ fenced: boolean; marked: number }> {
  const result = await db.query<{ fence_held: boolean; marked: number }>(
    `WITH no_flush_wait AS (
       SELECT set_config('synchronous_commit', 'off', true)
     ), fence AS (
       SELECT 1 FROM relay_lease, no_flush_wait WHERE name = $2 AND token = $3::bigint
     ), marked AS (
       UPDATE outbox
          SET published_at = now(),
              bus_published_at = CASE WHEN $4::boolean THEN coalesce(bus_published_at, now())
                                      ELSE bus_published_at END
        WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL AND EXISTS (SELECT 1 FROM fence)
        RETURNING 1
     )
     SELECT EXISTS (SELECT 1 FROM fence) AS fence_held, (SELECT count(*)::int FROM marked) AS marked`,
    [eventIds, fence.leaseName, fence.fencingToken, options.busToo],
  );
  const row = result.rows[0];
  return { fenced: !(row?.fence_held ?? false), marked: row?.marked ?? 0 };
}

/** The oldest `limit` events the bus has not taken yet whose retry time has come. */
export async function busPendingEvents(db: Queryable, limit: number): Promise<PendingEvent[]> {
  const result = await db.query<OutboxRow>(
    `SELECT ${COLUMNS} FROM outbox
      WHERE bus_published_at IS NULL AND (bus_next_attempt_at IS NULL OR bus_next_attempt_at <= now())
      ORDER BY created_at, event_id LIMIT $1`,
    [limit],
  );
  return result.rows.map(toPendingEvent);
}

/** Records that the bus took `eventIds`. */
export async function markBusPublished(db: Queryable, eventIds: readonly string[]): Promise<void> {
  await db.query(
    'UPDATE outbox SET bus_published_at = now() WHERE event_id = ANY($1::uuid[]) AND bus_published_at IS NULL',
    [eventIds],
  );
}

/**
 * Counts a failed bus delivery of `eventIds` and sets their next attempt: exponential from
 * `baseMs`, capped at `maxMs`, so a bus outage costs a few retries a minute, not a hot loop.
 */
export async function deferBusDelivery(
  db: Queryable,
  eventIds: readonly string[],
  backoff: { baseMs: number; maxMs: number },
): Promise<void> {
  await db.query(
    `UPDATE outbox
        SET bus_attempts = coalesce(bus_attempts, 0) + 1,
            bus_next_attempt_at = now() + least($3::float8, $2::float8 * 2 ^ least(coalesce(bus_attempts, 0), 30))
                                          * interval '1 millisecond'
      WHERE event_id = ANY($1::uuid[]) AND bus_published_at IS NULL`,
    [eventIds, backoff.baseMs, backoff.maxMs],
  );
}

/** Age in seconds of the oldest event not yet on the queue; 0 when everything is published. */
export async function outboxLagSeconds(db: Queryable): Promise<number> {
  const result = await db.query<{ lag: number }>(
    `SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS lag
       FROM outbox WHERE published_at IS NULL`,
  );
  return Math.max(0, result.rows[0]?.lag ?? 0);
}
