import * as z from 'zod/mini';
import { MAX_AMOUNT_MINOR_UNITS } from './charge.ts';
import { SUPPORTED_CURRENCIES } from './currencies.ts';

/** The `type` of the outbox message written for every new charge. */
export const CHARGE_CREATED = 'charge.created';

/**
 * The message the relay publishes for each outbox row and the consumer applies. `eventId` is
 * the outbox row's id: the SQS deduplication id and the consumer's inbox key.
 */
export const chargeCreatedMessageSchema = z.object({
  eventId: z.uuid(),
  type: z.literal(CHARGE_CREATED),
  occurredAt: z.string(),
  data: z.object({
    chargeId: z.uuid(),
    clientId: z.string().check(z.minLength(1)),
    customerId: z.string().check(z.minLength(1)),
    amount: z.int().check(z.minimum(1), z.maximum(MAX_AMOUNT_MINOR_UNITS)),
    currency: z.enum(SUPPORTED_CURRENCIES),
  }),
});
/** An outbox message announcing a new charge, as the relay publishes it. */
export type ChargeCreatedMessage = z.infer<typeof chargeCreatedMessageSchema>;

/** One side of a double-entry posting in the ledger. */
export interface LedgerPosting {
  account: string;
  direction: 'debit' | 'credit';
  amount: number;
  currency: string;
}

/**
 * The double-entry postings of one charge: the customer owes the amount (debit their
 * receivable) and the merchant client is owed it (credit their payable). They balance by
 * construction; the database re-checks that at commit.
 */
export function ledgerPostingsFor(message: ChargeCreatedMessage): LedgerPosting[] {
  const { amount, currency, customerId, clientId } = message.data;
  return [
    { account: `customer:${customerId}:receivable`, direction: 'debit', amount, currency },
    { account: `merchant:${clientId}:payable`, direction: 'credit', amount, currency },
  ];
}
