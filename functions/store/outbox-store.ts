import type pg from 'pg';
import type { Queryable } from './database.ts';

export interface PendingEvent {
  eventId: string;
  aggregateId: string;
  eventType: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/**
 * Claims up to `limit` of the oldest unpublished outbox events, hands them to `publish`, and
 * marks the ids it returns as published, all in one transaction. The rows stay locked
 * (FOR UPDATE SKIP LOCKED) until then, so concurrent relays never publish the same row at
 * the same time. If the process dies after publishing and before the commit, the rows are
 * unlocked and unmarked, and are published again: at-least-once, deduplicated downstream.
 * @returns how many rows were claimed and how many were marked published
 */
export async function publishOldestPendingEvents(
  pool: pg.Pool,
  limit: number,
  publish: (events: PendingEvent[]) => Promise<string[]>,
): Promise<{ claimed: number; published: number }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const pending = await client.query<{
      event_id: string;
      aggregate_id: string;
      event_type: string;
      payload: Record<string, unknown>;
      created_at: Date;
    }>(
      `SELECT event_id, aggregate_id, event_type, payload, created_at FROM outbox
        WHERE published_at IS NULL
        ORDER BY created_at, event_id
        LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    const events = pending.rows.map((row) => ({
      eventId: row.event_id,
      aggregateId: row.aggregate_id,
      eventType: row.event_type,
      payload: row.payload,
      createdAt: row.created_at,
    }));
    const publishedIds = events.length > 0 ? await publish(events) : [];
    if (publishedIds.length > 0) {
      await client.query(
        'UPDATE outbox SET published_at = now() WHERE event_id = ANY($1::uuid[])',
        [publishedIds],
      );
    }
    await client.query('COMMIT');
    return { claimed: events.length, published: publishedIds.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Age in seconds of the oldest unpublished outbox row; 0 when everything is published. */
export async function outboxLagSeconds(db: Queryable): Promise<number> {
  const result = await db.query<{ lag: number }>(
    `SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS lag
       FROM outbox WHERE published_at IS NULL`,
  );
  return Math.max(0, result.rows[0]?.lag ?? 0);
}
