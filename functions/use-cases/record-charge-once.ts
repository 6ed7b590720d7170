/**
 * Use case: record a charge once per (client, Idempotency-Key). Runs inside the idempotency
 * claim (the handler's Powertools middleware); this is what the claim protects. No AWS,
 * Lambda, database driver or HTTP type here: the store comes in as a port, the caller maps
 * the outcome to a response.
 */
import type { Charge, ChargeCommand } from '../domain/charge.ts';
import { IdempotencyKeyReusedError } from '../domain/errors.ts';

/** What this use case needs from storage. */
export interface ChargeRecorder {
  /**
   * Inserts the charge and its outbox event in one transaction, unless the (client, key)
   * pair already has a charge; returns that charge and whether this call created it.
   */
  recordCharge(command: ChargeCommand): Promise<{ charge: Charge; created: boolean }>;
}

/** How recording ended: a new charge, or the one this key already made (a replay). */
export interface RecordedCharge {
  charge: Charge;
  /** The charge existed before this call: answer it as a replay. */
  replayed: boolean;
}

/**
 * Records `command`'s charge, or finds the one its key already made.
 *
 * The key's idempotency record normally answers a repeated key before this runs. It does not
 * when the record expired (retention ended) while the charge did not: the charge row, unique
 * on (client, key), is then the memory of the key, and the rule is the same as the record's:
 * the same body is a replay of that charge, a different body is {@link IdempotencyKeyReusedError}
 * (422) and nothing is charged.
 *
 * @param afterCommit called once the charge is committed (or found), before anything else:
 *   where the caller counts a new charge, so a crash after the commit cannot lose the count.
 */
export async function recordChargeOnce(
  store: ChargeRecorder,
  command: ChargeCommand,
  afterCommit: (created: boolean) => void = () => {},
): Promise<RecordedCharge> {
  const { charge, created } = await store.recordCharge(command);
  afterCommit(created);
  if (!created && charge.requestFingerprint !== command.fingerprint) {
    throw new IdempotencyKeyReusedError();
  }
  return { charge, replayed: !created };
}
