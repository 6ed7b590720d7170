import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenBucket } from '../../client/token-bucket.ts';
import { failpoint } from '../commons/failpoints.ts';
import type { PendingEvent } from '../store/outbox-store.ts';
import { type PublishResult, SQS_BATCH_SIZE } from './sqs-publisher.ts';
import type { WarmUp } from './warm-up.ts';

export interface RelayPorts {
  /** Claims the oldest pending events, publishes them, marks the returned ids published. */
  publishOldest(
    limit: number,
    publish: (events: PendingEvent[]) => Promise<string[]>,
  ): Promise<{
    claimed: number;
    published: number;
  }>;
  /** Publishes up to {@link SQS_BATCH_SIZE} events. */
  sendBatch(events: PendingEvent[]): Promise<PublishResult>;
  /** Publish-rate limit: one token per event. */
  rateLimit: TokenBucket;
  /** Slow start of the rate at the beginning of a catch-up. */
  warmUp: WarmUp;
  /** Milliseconds this invocation has left. */
  remainingMs(): number;
  /** Called after each committed round with how many events it marked published. */
  onPublished(count: number): void;
}

export interface RelayRun {
  published: number;
  failed: number;
  rounds: number;
}

/** Rows claimed per transaction: ten SendMessageBatch calls' worth, sent concurrently. */
const CLAIM_SIZE = 100;
/** Stop claiming when less than this is left, so a round never outlives the invocation. */
const SAFETY_MARGIN_MS = 5_000;

/**
 * Drains the outbox: oldest first, in rounds of {@link CLAIM_SIZE}, until the backlog is
 * empty, a round publishes nothing (the broker is failing: the next schedule retries), or
 * the invocation's time is nearly spent. Every event waits for a token, so after an outage
 * the backlog flows out at the configured rate instead of as a thundering herd.
 */
export async function publishPendingEvents(ports: RelayPorts): Promise<RelayRun> {
  const run: RelayRun = { published: 0, failed: 0, rounds: 0 };
  while (ports.remainingMs() > SAFETY_MARGIN_MS) {
    const round = await ports.publishOldest(CLAIM_SIZE, async (events) => {
      const batches = chunk(events, SQS_BATCH_SIZE);
      const results = await Promise.all(
        batches.map(async (batch) => {
          await takeTokens(ports, batch.length);
          return ports.sendBatch(batch);
        }),
      );
      // Published but not yet marked: a crash here is what the inbox exists for.
      failpoint('relay.after-publish');
      run.failed += results.reduce((sum, result) => sum + result.failed.length, 0);
      return results.flatMap((result) => result.published);
    });
    run.rounds++;
    run.published += round.published;
    if (round.published > 0) ports.onPublished(round.published);
    if (round.claimed === 0 || round.published === 0) break;
  }
  return run;
}

async function takeTokens({ rateLimit, warmUp }: RelayPorts, count: number): Promise<void> {
  for (let wait = warmUp.msUntilAllowed(count); wait > 0; wait = warmUp.msUntilAllowed(count)) {
    await sleep(Math.ceil(wait));
  }
  warmUp.grant(count);
  while (!rateLimit.tryTake(count)) {
    await sleep(Math.max(1, Math.ceil(rateLimit.msUntilAvailable(count))));
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
