import type { Queryable } from './database.ts';

/**
 * Deletes up to `limit` outbox rows published (to the queue and to the bus) more than
 * `retentionSeconds` ago, oldest first. A row either destination has not taken is never
 * touched, however old: the relay still has to send it.
 * @returns how many rows were deleted
 */
export async function deletePublishedOutboxRows(
  db: Queryable,
  retentionSeconds: number,
  limit: number,
): Promise<number> {
  const result = await db.query(
    `DELETE FROM outbox WHERE event_id IN (
       SELECT event_id FROM outbox
        WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1)
          AND bus_published_at IS NOT NULL
        ORDER BY published_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [retentionSeconds, limit],
  );
  return result.rowCount ?? 0;
}

/**
 * Deletes up to `limit` inbox rows processed more than `retentionSeconds` ago. Only safe
 * beyond the longest time an event can still be redelivered (see functions/housekeeping).
 * @returns how many rows were deleted
 */
export async function deleteOldInboxRows(
  db: Queryable,
  retentionSeconds: number,
  limit: number,
): Promise<number> {
  const result = await db.query(
    `DELETE FROM ledger.inbox WHERE event_id IN (
       SELECT event_id FROM ledger.inbox
        WHERE processed_at < now() - make_interval(secs => $1)
        ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [retentionSeconds, limit],
  );
  return result.rowCount ?? 0;
}
