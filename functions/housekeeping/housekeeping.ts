import type { PostgresPersistenceLayer } from '@effectively-once/powertools-idempotency-postgres';
import type { HousekeepingTable } from '../../primitives/metric-names.ts';
import type { Queryable } from '../store/database.ts';
import { deleteOldInboxRows, deletePublishedOutboxRows } from '../store/retention-store.ts';
import { type PurgeOptions, type PurgeResult, purgeInBatches } from './purge-in-batches.ts';
import { INBOX_RETENTION_SECONDS, PUBLISHED_OUTBOX_RETENTION_SECONDS } from './retention.ts';

/** What one housekeeping run purges with, how long it may take, and the retention overrides. */
export interface HousekeepingOptions {
  db: Queryable;
  idempotencyRecords: PostgresPersistenceLayer;
  remainingMs: () => number;
  inboxRetentionSeconds?: number;
  outboxRetentionSeconds?: number;
  batch?: Partial<Pick<PurgeOptions, 'initialBatchSize' | 'maxBatchSize' | 'targetBatchMs'>>;
}

/** What one housekeeping run did, per table (the tables are the metric's `table` labels). */
export type HousekeepingRun = Record<HousekeepingTable, PurgeResult>;

/**
 * One housekeeping run: expired idempotency records, then published outbox rows and inbox
 * rows past their retention, each purged in growing batches. The time left is shared: each
 * table gets a third of what remains when its turn comes, so a huge backlog in one table
 * cannot starve the others for a whole run.
 */
export async function runHousekeeping(options: HousekeepingOptions): Promise<HousekeepingRun> {
  const inbox = options.inboxRetentionSeconds ?? INBOX_RETENTION_SECONDS;
  const outbox = options.outboxRetentionSeconds ?? PUBLISHED_OUTBOX_RETENTION_SECONDS;
  const reserveMs = 2_000;
  const purge = (deleteBatch: (limit: number) => Promise<number>, share: number) => {
    const until = performance.now() + (options.remainingMs() - reserveMs) * share;
    return purgeInBatches(deleteBatch, {
      initialBatchSize: options.batch?.initialBatchSize ?? 1_000,
      maxBatchSize: options.batch?.maxBatchSize ?? 50_000,
      targetBatchMs: options.batch?.targetBatchMs ?? 1_000,
      remainingMs: () => until - performance.now(),
      reserveMs: 0,
    });
  };
  return {
    idempotencyRecords: await purge(
      (limit) => options.idempotencyRecords.deleteExpiredRecords(limit),
      1 / 3,
    ),
    outbox: await purge((limit) => deletePublishedOutboxRows(options.db, outbox, limit), 1 / 2),
    inbox: await purge((limit) => deleteOldInboxRows(options.db, inbox, limit), 1),
  };
}
