import type { Context } from 'aws-lambda';
import { countMetric, gaugeMetric, logger } from '../commons/powertools.ts';
import { loadSettings } from '../commons/settings.ts';
import { functionPool } from '../store/database-connection.ts';
import { requeueChargeEvents, unappliedCharges } from '../store/reconciliation-store.ts';
import {
  type ReconciliationResult,
  reconcileUnappliedCharges,
} from './reconcile-unapplied-charges.ts';

const settings = loadSettings('reconciliation', logger);
const db = await functionPool(settings);
const olderThanSeconds = settings.RECONCILE_AFTER_SECONDS;
const lookbackSeconds = settings.RECONCILE_LOOKBACK_HOURS * 3600;
const batchLimit = settings.RECONCILE_BATCH_LIMIT;

/**
 * Scheduled reconciliation (every minute in AWS; inside the local relay process locally):
 * reports `unapplied_charges` (the alarm reads it) and re-enqueues the events of charges
 * whose message was lost between the relay and the consumer.
 */
export async function handler(_event?: unknown, context?: Context): Promise<ReconciliationResult> {
  if (context) logger.addContext(context);
  const result = await reconcileUnappliedCharges({
    findUnapplied: () =>
      unappliedCharges(db, { olderThanSeconds, lookbackSeconds, limit: batchLimit }),
    requeue: (chargeIds) => requeueChargeEvents(db, chargeIds, olderThanSeconds),
  });
  gaugeMetric('unapplied_charges', result.unapplied);
  if (result.requeuedEventIds.length > 0) {
    countMetric('reconciliation_requeued_total', {}, result.requeuedEventIds.length);
    logger.warn('charges unapplied past the grace period: events re-enqueued', {
      unapplied: result.unapplied,
      requeued: result.requeuedEventIds.length,
    });
  }
  return result;
}
