import { PostgresPersistenceLayer } from '@effectively-once/powertools-idempotency-postgres';
import type { Context } from 'aws-lambda';
import { HOUSEKEEPING_TABLES } from '../../primitives/metric-names.ts';
import { countMetric, logger } from '../commons/powertools.ts';
import { loadSettings } from '../commons/settings.ts';
import { functionPool } from '../store/database-connection.ts';
import { type HousekeepingRun, runHousekeeping } from './housekeeping.ts';

const settings = loadSettings('housekeeping', logger);
const db = await functionPool(settings);
const idempotencyRecords = new PostgresPersistenceLayer({ pool: db });

/**
 * The scheduled housekeeping (every minute in AWS): purges expired idempotency records,
 * published outbox rows and inbox rows past the redelivery horizon, in batches that follow
 * the write rate, and reports what it deleted as `housekeeping_deleted_total{table}`.
 */
export async function handler(_event: unknown, context: Context): Promise<HousekeepingRun> {
  logger.addContext(context);
  const run = await runHousekeeping({
    db,
    idempotencyRecords,
    remainingMs: () => context.getRemainingTimeInMillis(),
    inboxRetentionSeconds: settings.INBOX_RETENTION_SECONDS,
    outboxRetentionSeconds: settings.OUTBOX_RETENTION_SECONDS,
  });
  for (const table of HOUSEKEEPING_TABLES) {
    const result = run[table];
    countMetric('housekeeping_deleted_total', { table }, result.deleted);
    if (!result.drained) logger.warn('housekeeping did not catch up', { table, ...result });
  }
  return run;
}
