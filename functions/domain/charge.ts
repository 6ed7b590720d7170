import { createHash } from 'node:crypto';
// zod/mini: the same validator at a fraction of the bundle (cold start) of the full API.
import * as z from 'zod/mini';
import { canonicalJson } from '../../primitives/canonical-json.ts';
import { SUPPORTED_CURRENCIES } from './currencies.ts';

/** The largest amount one charge may carry, in minor units (1 000 000.00). */
export const MAX_AMOUNT_MINOR_UNITS = 100_000_000;

/** The body of `POST /charge`. Strict: an unknown field is an error, not something to drop. */
export const chargeRequestSchema = z.strictObject(
  {
    amount: z
      .int({ error: 'must be an integer number of minor units' })
      .check(
        z.minimum(1, 'must be at least 1'),
        z.maximum(MAX_AMOUNT_MINOR_UNITS, `must be at most ${MAX_AMOUNT_MINOR_UNITS}`),
      ),
    currency: z.enum(SUPPORTED_CURRENCIES, {
      error: `must be one of ${SUPPORTED_CURRENCIES.join(', ')}`,
    }),
    customerId: z
      .string({ error: 'must be a string' })
      .check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, '1-64 characters of A-Z, a-z, 0-9, _ and -')),
    description: z.optional(
      z.string({ error: 'must be a string' }).check(
        z.maxLength(500, 'must be at most 500 characters'),
        // PostgreSQL text cannot hold NUL, and a lone surrogate would be stored as U+FFFD:
        // either would fail the insert or store something other than what was fingerprinted.
        z.refine(
          (text) => !text.includes('\u0000') && text.isWellFormed(),
          'must be storable text: no NUL character, no lone surrogate',
        ),
      ),
    ),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field(s): ${issue.keys.join(', ')}`
        : 'the body must be a JSON object',
  },
);
/** A valid body of `POST /charge`. */
export type ChargeRequest = z.infer<typeof chargeRequestSchema>;

/** A charge as stored: one per (client, idempotency key). */
export interface Charge {
  id: string;
  clientId: string;
  idempotencyKey: string;
  requestFingerprint: string;
  customerId: string;
  amount: number;
  currency: string;
  description: string | null;
  createdAt: Date;
}

/** A validated charge command: who asks, under which key, for what. */
export interface ChargeCommand {
  clientId: string;
  idempotencyKey: string;
  request: ChargeRequest;
  fingerprint: string;
}

/**
 * The request fingerprint: SHA-256 of the canonical JSON of the body (keys sorted at every
 * level). The one formula for "is this the same request?", used by the idempotency record
 * and by the charge row, so the two can never disagree.
 */
export function fingerprintOf(request: ChargeRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('base64url');
}

/** The public representation of a charge (the body of 201 and the core of GET). */
export function chargeResource(charge: Charge) {
  return {
    id: charge.id,
    amount: charge.amount,
    currency: charge.currency,
    customerId: charge.customerId,
    description: charge.description,
    createdAt: charge.createdAt.toISOString(),
  };
}
