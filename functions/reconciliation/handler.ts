import { numberEnv } from '../commons/config.ts';
import { countMetric, gaugeMetric, logger } from '../commons/powertools.ts';
import { createPool } from '../store/database.ts';
import { databaseConnectionFromEnvironment } from '../store/database-connection.ts';
import { requeueChargeEvents, unappliedCharges } from '../store/reconciliation-store.ts';
import {
  type ReconciliationResult,
  reconcileUnappliedCharges,
} from './reconcile-unapplied-charges.ts';

const db = createPool(await databaseConnectionFromEnvironment(), {
  max: numberEnv('DB_POOL_MAX', 1),
});
/** N: a healthy relay and consumer apply a charge within seconds; five minutes is an anomaly. */
const olderThanSeconds = numberEnv('RECONCILE_AFTER_SECONDS', 300);
const lookbackSeconds = numberEnv('RECONCILE_LOOKBACK_HOURS', 24) * 3600;
const batchLimit = numberEnv('RECONCILE_BATCH_LIMIT', 1000);

/**
 * Scheduled reconciliation (every minute in AWS; inside the local relay process locally):
 * reports `unapplied_charges` (the alarm reads it) and re-enqueues the events of charges
 * whose message was lost between the relay and the consumer.
 */
export async function handler(): Promise<ReconciliationResult> {
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
