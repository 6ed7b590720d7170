/** Deletes up to `limit` rows; returns how many it deleted. */
export type DeleteBatch = (limit: number) => Promise<number>;

/** How {@link purgeInBatches} sizes its batches and when it stops. */
export interface PurgeOptions {
  /** First batch size; grows while batches come back full and fast. */
  initialBatchSize: number;
  maxBatchSize: number;
  /** A full batch faster than this doubles the next one (keeps each statement short). */
  targetBatchMs: number;
  /** Time left in this run; purging stops with `reserveMs` to spare. */
  remainingMs: () => number;
  reserveMs: number;
}

/** What one purge deleted, in how many batches, and whether it caught up. */
export interface PurgeResult {
  deleted: number;
  batches: number;
  largestBatch: number;
  /** true when the last batch was not full: nothing eligible is left. */
  drained: boolean;
}

/**
 * Deletes in batches until a batch comes back short (drained) or the run's time is nearly
 * spent. The batch size doubles while full batches finish within `targetBatchMs` and halves
 * when one takes twice that, so the rows deleted per run follow the rate they are written at
 * (a fixed 1,000 per minute fell behind above ~17 writes/s) without any one DELETE holding
 * locks for long.
 */
export async function purgeInBatches(
  deleteBatch: DeleteBatch,
  options: PurgeOptions,
): Promise<PurgeResult> {
  let size = options.initialBatchSize;
  const result: PurgeResult = { deleted: 0, batches: 0, largestBatch: 0, drained: false };
  while (options.remainingMs() > options.reserveMs) {
    const started = performance.now();
    const deleted = await deleteBatch(size);
    const tookMs = performance.now() - started;
    result.deleted += deleted;
    result.batches += 1;
    result.largestBatch = Math.max(result.largestBatch, size);
    if (deleted < size) {
      result.drained = true;
      break;
    }
    if (tookMs < options.targetBatchMs) size = Math.min(options.maxBatchSize, size * 2);
    else if (tookMs > options.targetBatchMs * 2)
      size = Math.max(options.initialBatchSize, size / 2);
  }
  return result;
}
