/**
 * Use case: a client reads one of its charges, with what the ledger has done with it. No AWS,
 * Lambda, database driver or HTTP type here: the store comes in as a port.
 */
import type { Charge } from '../domain/charge.ts';
import { NotFoundError } from '../domain/errors.ts';

/** What this use case needs from storage. */
export interface ChargeReader {
  /** The charge `chargeId` if it belongs to `clientId`; undefined for anyone else's or none. */
  findClientCharge(clientId: string, chargeId: string): Promise<Charge | undefined>;
  /** How many times the ledger has applied charge `chargeId`. */
  ledgerApplicationsOf(chargeId: string): Promise<number>;
}

/** A client's charge and its ledger state. */
export interface ClientCharge {
  charge: Charge;
  /** `applications` is 1 once the ledger applied the charge; anything but 0 or 1 is a bug. */
  ledger: { applied: boolean; applications: number };
}

/**
 * The charge `chargeId` of `clientId`. Another client's charge is indistinguishable from no
 * charge at all: both are {@link NotFoundError}, so ids cannot be probed across clients.
 */
export async function readClientCharge(
  store: ChargeReader,
  clientId: string,
  chargeId: string,
): Promise<ClientCharge> {
  const charge = await store.findClientCharge(clientId, chargeId);
  if (!charge) throw new NotFoundError(`No charge ${chargeId} for this client.`);
  const applications = await store.ledgerApplicationsOf(charge.id);
  return { charge, ledger: { applied: applications > 0, applications } };
}
