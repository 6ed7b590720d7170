import type { UnappliedCharges } from '../store/reconciliation-store.ts';

/** What reconciliation needs from storage. */
export interface ReconciliationPorts {
  findUnapplied(): Promise<UnappliedCharges>;
  /** Re-enqueues the events of these charges; returns the event ids re-enqueued. */
  requeue(chargeIds: string[]): Promise<string[]>;
}

/** What one reconciliation run found and re-enqueued. */
export interface ReconciliationResult {
  /** Charges past the grace period with no ledger application: the `unapplied_charges` gauge. */
  unapplied: number;
  requeuedEventIds: string[];
}

/**
 * The safety net behind the outbox and the queue: a charge the ledger has not applied N
 * minutes after it was made is counted (the alarm) and its event is sent again. The inbox
 * absorbs the re-publish if the first message was only late, so re-sending is always safe.
 */
export async function reconcileUnappliedCharges(
  ports: ReconciliationPorts,
): Promise<ReconciliationResult> {
  const unapplied = await ports.findUnapplied();
  const requeuedEventIds = await ports.requeue(unapplied.chargeIds);
  return { unapplied: unapplied.count, requeuedEventIds };
}
