import type { Queryable } from '../../functions/store/database.ts';

/**
 * Inserts `count` unpublished charge events across 200 customers, two minutes old: the outbox
 * as a broker outage leaves it. Used by the backlog test and the benchmark.
 */
export async function insertOutboxBacklog(
  db: Queryable,
  count: number,
  clientId: string,
): Promise<void> {
  await db.query(
    `INSERT INTO outbox (aggregate_id, event_type, payload, created_at)
     SELECT 'cus_' || (n % 200), 'charge.created',
            jsonb_build_object('chargeId', gen_random_uuid(), 'clientId', $2::text,
                               'customerId', 'cus_' || (n % 200), 'amount', 100 + n, 'currency', 'EUR',
                               'createdAt', now()),
            clock_timestamp() - interval '2 minutes'
       FROM generate_series(1, $1) AS n`,
    [count, clientId],
  );
}
