import type { ChargeCreatedMessage } from '../../functions/domain/charge-events.ts';
import { ledgerPostingsFor } from '../../functions/domain/charge-events.ts';
import type { Queryable } from '../../functions/store/database.ts';

/**
 * The consumer's write on the DSQL-shaped ledger (schema/dsql/migrations/0002): the charge's
 * double entry as one row keyed by the event id. One statement, no trigger: the row balances
 * by its shape, and a redelivered event finds its row and writes nothing.
 */
export async function applyLedgerEntry(
  db: Queryable,
  message: ChargeCreatedMessage,
): Promise<'applied' | 'duplicate'> {
  const postings = ledgerPostingsFor(message);
  const debit = postings.find((posting) => posting.direction === 'debit');
  const credit = postings.find((posting) => posting.direction === 'credit');
  if (postings.length !== 2 || !debit || !credit || debit.amount !== credit.amount) {
    throw new Error(`charge ${message.data.chargeId} does not map to one balanced double entry`);
  }
  const result = await db.query(
    `INSERT INTO ledger.entries (event_id, charge_id, debit_account, credit_account, amount, currency)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (event_id) DO NOTHING`,
    [
      message.eventId,
      message.data.chargeId,
      debit.account,
      credit.account,
      debit.amount,
      debit.currency,
    ],
  );
  return (result.rowCount ?? 0) > 0 ? 'applied' : 'duplicate';
}
