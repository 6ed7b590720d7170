import type { ChargeCreatedMessage } from '../domain/charge-events.ts';
import { ledgerPostingsFor } from '../domain/charge-events.ts';
import type { Queryable } from './database.ts';

/**
 * Applies one charge event to the ledger, at most once per event id, in one statement and so
 * one transaction: the inbox row and the postings commit together. If the inbox already
 * holds the event (a redelivery, or a re-publish after the broker forgot it), nothing is
 * written.
 */
export async function applyLedgerPostings(
  db: Queryable,
  message: ChargeCreatedMessage,
): Promise<'applied' | 'duplicate'> {
  const postings = ledgerPostingsFor(message);
  const result = await db.query(
    `WITH received AS (
       INSERT INTO ledger.inbox (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING RETURNING event_id
     )
     INSERT INTO ledger.postings (event_id, charge_id, account, direction, amount, currency)
     SELECT received.event_id, $2, posting.account, posting.direction, posting.amount, posting.currency
     FROM received,
          jsonb_to_recordset($3::jsonb) AS posting(account text, direction text, amount bigint, currency text)`,
    [message.eventId, message.data.chargeId, JSON.stringify(postings)],
  );
  return (result.rowCount ?? 0) > 0 ? 'applied' : 'duplicate';
}

/** How many times the ledger has applied charge `chargeId` (exactly 1 once it has, ever). */
export async function ledgerApplicationsOf(db: Queryable, chargeId: string): Promise<number> {
  const result = await db.query<{ applications: number }>(
    `SELECT count(*)::int AS applications FROM ledger.postings WHERE charge_id = $1 AND direction = 'debit'`,
    [chargeId],
  );
  return result.rows[0]?.applications ?? 0;
}
