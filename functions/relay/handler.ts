import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { PostgresPersistenceLayer } from '@effectively-once/powertools-idempotency-postgres';
import type { Context } from 'aws-lambda';
import { TokenBucket } from '../../client/token-bucket.ts';
import { createSqsClient } from '../commons/aws-clients.ts';
import { numberEnv, requiredEnv } from '../commons/config.ts';
import { countMetric, gaugeMetric, logger } from '../commons/powertools.ts';
import { createPool } from '../store/database.ts';
import { databaseConnectionFromEnvironment } from '../store/database-connection.ts';
import {
  outboxLagSeconds,
  type PendingEvent,
  publishOldestPendingEvents,
} from '../store/outbox-store.ts';
import { publishChargeEvents } from './event-bus-publisher.ts';
import { publishPendingEvents, type RelayRun } from './publish-pending-events.ts';
import { type PublishResult, sendEventBatch } from './sqs-publisher.ts';
import { WarmUp } from './warm-up.ts';

const WARM_UP_SECONDS = 3;

const db = createPool(await databaseConnectionFromEnvironment(), {
  max: numberEnv('DB_POOL_MAX', 2),
});
const sqs = createSqsClient();
const queueUrl = requiredEnv('QUEUE_URL');
const deadLetterQueueUrl = requiredEnv('DLQ_URL');
const maxEventsPerSecond = numberEnv('RELAY_MAX_EVENTS_PER_SECOND', 500);
const idempotencyRecords = new PostgresPersistenceLayer({ pool: db });
const eventBusName = process.env.EVENT_BUS_NAME;
const eventBridge = eventBusName ? new EventBridgeClient({}) : undefined;

/**
 * Publishes a batch to the queue and, when EVENT_BUS_NAME is set, to the bus for other
 * subscribers. An event counts as published only when every destination took it; otherwise
 * it stays pending and is sent again (the queue's and subscribers' dedup absorb the repeat).
 */
async function sendBatch(events: PendingEvent[]): Promise<PublishResult> {
  const queued = await sendEventBatch(sqs, queueUrl, events);
  if (!eventBridge || !eventBusName || queued.published.length === 0) return queued;
  const accepted = new Set(queued.published);
  const onBus = await publishChargeEvents(
    eventBridge,
    eventBusName,
    events
      .filter((event) => accepted.has(event.eventId))
      .map((event) => ({ ...event, type: event.eventType })),
  );
  if (onBus.failures.length > 0)
    logger.warn('events rejected by the event bus stay pending', { failures: onBus.failures });
  return { published: onBus.publishedIds, failed: [...queued.failed, ...onBus.failedIds] };
}

/**
 * The scheduled relay: drains the outbox into the SQS FIFO queue at no more than
 * RELAY_MAX_EVENTS_PER_SECOND, then reports outbox lag and DLQ depth and deletes expired
 * idempotency records.
 */
export async function handler(_event: unknown, context: Context): Promise<RelayRun> {
  // Reported before draining as well as after: a long catch-up must not hide the lag that
  // started it from the > 30 s alarm.
  gaugeMetric('outbox_lag_seconds', await outboxLagSeconds(db), MetricUnit.Seconds);
  // A burst of a twentieth of a second's allowance (at least one full SendMessageBatch), so no
  // one-second window can see much more than the configured rate.
  const rateLimit = new TokenBucket({
    capacity: Math.max(10, Math.ceil(maxEventsPerSecond / 20)),
    refillPerSecond: maxEventsPerSecond,
  });
  const run = await publishPendingEvents({
    publishOldest: (limit, publish) => publishOldestPendingEvents(db, limit, publish),
    sendBatch,
    rateLimit,
    warmUp: new WarmUp(maxEventsPerSecond, WARM_UP_SECONDS),
    remainingMs: () => context.getRemainingTimeInMillis(),
    // Per committed round: a relay killed mid-drain keeps the count of what it marked.
    onPublished: (count) => countMetric('relay_published_total', {}, count),
  });
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
