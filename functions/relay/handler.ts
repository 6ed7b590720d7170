import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { TokenBucket } from '../../client/token-bucket.ts';
import { createSqsClient } from '../commons/aws-clients.ts';
import { numberEnv, requiredEnv } from '../commons/config.ts';
import { countMetric, gaugeMetric, logger } from '../commons/powertools.ts';
import { PostgresPersistenceLayer } from '../idempotency/postgres-persistence-layer.ts';
import { createPool } from '../store/database.ts';
import { outboxLagSeconds, publishOldestPendingEvents } from '../store/outbox-store.ts';
import { publishPendingEvents, type RelayRun } from './publish-pending-events.ts';
import { sendEventBatch } from './sqs-publisher.ts';
import { WarmUp } from './warm-up.ts';

const WARM_UP_SECONDS = 3;

const db = createPool(requiredEnv('DATABASE_URL'), { max: numberEnv('DB_POOL_MAX', 2) });
const sqs = createSqsClient();
const queueUrl = requiredEnv('QUEUE_URL');
const deadLetterQueueUrl = requiredEnv('DLQ_URL');
const maxEventsPerSecond = numberEnv('RELAY_MAX_EVENTS_PER_SECOND', 500);
const idempotencyRecords = new PostgresPersistenceLayer({ pool: db });

/**
 * The scheduled relay: drains the outbox into the SQS FIFO queue at no more than
 * RELAY_MAX_EVENTS_PER_SECOND, then reports outbox lag and DLQ depth and deletes expired
 * idempotency records.
 */
export async function handler(_event: unknown, context: Context): Promise<RelayRun> {
  // A burst of a twentieth of a second's allowance (at least one full SendMessageBatch), so no
  // one-second window can see much more than the configured rate.
  const rateLimit = new TokenBucket({
    capacity: Math.max(10, Math.ceil(maxEventsPerSecond / 20)),
    refillPerSecond: maxEventsPerSecond,
  });
  const run = await publishPendingEvents({
    publishOldest: (limit, publish) => publishOldestPendingEvents(db, limit, publish),
    sendBatch: (events) => sendEventBatch(sqs, queueUrl, events),
    rateLimit,
    warmUp: new WarmUp(maxEventsPerSecond, WARM_UP_SECONDS),
    remainingMs: () => context.getRemainingTimeInMillis(),
  });
  countMetric('relay_published_total', {}, run.published);
  if (run.failed > 0)
    logger.warn('some events were not accepted by SQS; they stay pending', { failed: run.failed });

  gaugeMetric('outbox_lag_seconds', await outboxLagSeconds(db), MetricUnit.Seconds);
  gaugeMetric('dead_letter_queue_depth', await deadLetterQueueDepth());
  await idempotencyRecords.deleteExpiredRecords();
  return run;
}

async function deadLetterQueueDepth(): Promise<number> {
  const response = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: deadLetterQueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const attributes = response.Attributes ?? {};
  return (
    Number(attributes.ApproximateNumberOfMessages ?? 0) +
    Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}
