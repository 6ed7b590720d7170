import type { Queryable } from './database.ts';

/** Charges the ledger has not applied past the grace period. */
export interface UnappliedCharges {
  /** Charges in the window older than the grace period with no ledger application. */
  count: number;
  /** Up to `limit` of their ids, oldest first. */
  chargeIds: string[];
}

/**
 * Charges created more than `olderThanSeconds` ago (and less than `lookbackSeconds`, which
 * bounds the scan to recent charges on an index) that the ledger has not applied.
 */
export async function unappliedCharges(
  db: Queryable,
  options: { olderThanSeconds: number; lookbackSeconds: number; limit: number },
): Promise<UnappliedCharges> {
  const result = await db.query<{ id: string; total: number }>(
    `SELECT c.id, count(*) OVER ()::int AS total FROM charges c
      WHERE c.created_at < now() - $1::float8 * interval '1 second'
        AND c.created_at > now() - $2::float8 * interval '1 second'
        AND NOT EXISTS (SELECT 1 FROM ledger.postings p WHERE p.charge_id = c.id)
      ORDER BY c.created_at
      LIMIT $3`,
    [options.olderThanSeconds, options.lookbackSeconds, options.limit],
  );
  return {
    count: result.rows[0]?.total ?? 0,
    chargeIds: result.rows.map((row) => row.id),
  };
}

/**
 * Puts the events of `chargeIds` back in front of the relay, if they were published more than
 * `publishedBeforeSeconds` ago (the message was lost: a deleted queue, a purge). An event the
 * relay has not published yet is left alone: it is on its way. Each re-enqueue counts in
 * republish_count, which the relay adds to the SQS deduplication id.
 * @returns the event ids re-enqueued
 */
export async function requeueChargeEvents(
  db: Queryable,
  chargeIds: readonly string[],
  publishedBeforeSeconds: number,
): Promise<string[]> {
  if (chargeIds.length === 0) return [];
  const result = await db.query<{ event_id: string }>(
    `UPDATE outbox SET published_at = NULL, republish_count = coalesce(republish_count, 0) + 1
      WHERE payload->>'chargeId' = ANY($1::text[])
        AND published_at < now() - $2::float8 * interval '1 second'
      RETURNING event_id`,
    [chargeIds, publishedBeforeSeconds],
  );
  return result.rows.map((row) => row.event_id);
}
