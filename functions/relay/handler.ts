import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { TokenBucket } from '../../primitives/token-bucket.ts';
import { createEventBridgeClient, createSqsClient } from '../commons/aws-clients.ts';
import { countMetric, gaugeMetric, logger } from '../commons/powertools.ts';
import { loadSettings } from '../commons/settings.ts';
import { functionPool } from '../store/database-connection.ts';
import {
  busPendingEvents,
  deferBusDelivery,
  markBusPublished,
  markPublished,
  outboxLagSeconds,
  pendingEvents,
} from '../store/outbox-store.ts';
import { releaseLease, tryAcquireLease } from '../store/relay-lease-store.ts';
import { drainOutboxToQueue, type RelayRun } from './drain-outbox.ts';
import { deliverToEventBus } from './event-bus-delivery.ts';
import { putChargeEventsOnBus } from './event-bus-publisher.ts';
import { RelayLease } from './relay-lease.ts';
import { OUTBOX_RELAY_LEASE, RELAY_SETTINGS as settings } from './relay-settings.ts';
import { sendEventBatch } from './sqs-publisher.ts';
import { WarmUp } from './warm-up.ts';

// Lanes send side by side and the bus loop, lease renewals and health reports share the pool.
// The deployment's settings (environment); `settings` are the relay's fixed tunables.
const configuration = loadSettings('relay', logger);
const db = await functionPool(configuration);
const sqs = createSqsClient();
const queueUrl = configuration.QUEUE_URL;
const deadLetterQueueUrl = configuration.DLQ_URL;
const maxEventsPerSecond = configuration.RELAY_MAX_EVENTS_PER_SECOND;
const eventBusName =
  configuration.PUBLISH_TO_EVENT_BUS === 'true' ? configuration.EVENT_BUS_NAME : undefined;
const eventBridge = eventBusName ? await createEventBridgeClient() : undefined;
// One holder per execution environment: a later invocation here renews instead of waiting.
// RELAY_LEASE_HOLDER names it instead, for fault harnesses that hand the lease to one relay.
const holder =
  configuration.RELAY_LEASE_HOLDER ??
  `${process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? 'local'}:${process.pid}:${randomUUID()}`;
const leaseTtlMs = configuration.RELAY_LEASE_TTL_MS;
const lease = new RelayLease(
  {
    tryAcquire: () => tryAcquireLease(db, OUTBOX_RELAY_LEASE, holder, leaseTtlMs),
    release: (token) => releaseLease(db, OUTBOX_RELAY_LEASE, holder, token),
  },
  // A shorter lease (tests) renews and stops trusting itself proportionally sooner.
  {
    ttlMs: leaseTtlMs,
    renewEveryMs: Math.min(settings.leaseRenewEveryMs, leaseTtlMs / 5),
    safetyMs: Math.min(settings.leaseSafetyMs, leaseTtlMs * 0.3),
  },
);
const onError = (error: unknown) =>
  logger.warn('relay: retrying after an error', { error: errorText(error) });

/**
 * The relay: one invocation drains the outbox into the SQS FIFO queue for nearly all of its
 * timeout, at no more than RELAY_MAX_EVENTS_PER_SECOND across every relay (only the holder of
 * the relay lease publishes), and, when EVENT_BUS_NAME is set, fans events out to the bus on
 * a delivery loop of its own. Reports outbox lag and DLQ depth every few seconds (expired rows
 * are purged by functions/housekeeping).
 */
export async function handler(_event: unknown, context: Context): Promise<RelayRun> {
  logger.addContext(context);
  // A burst of a fiftieth of a second's allowance (at least one full SendMessageBatch): the
  // lanes' sends finish at slightly different times, and the burst plus that spread must stay
  // well inside the 10 % a one-second window may exceed the configured rate by.
  const rateLimit = new TokenBucket({
    capacity: Math.max(10, Math.ceil(maxEventsPerSecond / 50)),
    refillPerSecond: maxEventsPerSecond,
  });
  let draining = true;
  const health = reportHealthPeriodically(() => draining);
  const bus = eventBridge && eventBusName ? fanOutToBus(eventBusName, () => draining) : undefined;
  let run: RelayRun;
  try {
    run = await drainOutboxToQueue({
      lease,
      fetchPending: (limit) => pendingEvents(db, limit),
      sendBatch: (events) => sendEventBatch(sqs, queueUrl, events),
      markPublished: (ids, fencingToken) =>
        markPublished(
          db,
          ids,
          { leaseName: OUTBOX_RELAY_LEASE, fencingToken },
          { busToo: !eventBusName },
        ),
      rateLimit,
      warmUp: new WarmUp(maxEventsPerSecond, settings.warmUpSeconds),
      remainingMs: () => context.getRemainingTimeInMillis(),
      sleep,
      // Per marked batch: a relay killed mid-drain keeps the count of what it marked.
      onPublished: (count) => countMetric('relay_published_total', {}, count),
      onError,
      settings,
    });
  } finally {
    draining = false;
    await Promise.all([health, bus]);
  }
  if (run.failed > 0)
    logger.warn('some events were not accepted by SQS; they stay pending', { failed: run.failed });
  await reportHealth();
  return run;
}

function fanOutToBus(busName: string, running: () => boolean): Promise<number> {
  const client = eventBridge as NonNullable<typeof eventBridge>;
  return deliverToEventBus({
    holdsLease: () => lease.token !== undefined,
    fetchPending: (limit) => busPendingEvents(db, limit),
    put: async (events) => {
      const result = await putChargeEventsOnBus(
        client,
        busName,
        events.map((event) => ({ ...event, type: event.eventType })),
        { maxAttempts: 2 },
      );
      if (result.failures.length > 0)
        logger.warn('events rejected by the event bus will be retried', {
          failures: result.failures.slice(0, 5),
          failed: result.failures.length,
        });
      return result;
    },
    markDelivered: (ids) => markBusPublished(db, ids),
    defer: (ids) =>
      deferBusDelivery(db, ids, { baseMs: settings.busRetryBaseMs, maxMs: settings.busRetryMaxMs }),
    running,
    sleep,
    onError,
    settings,
  });
}

async function reportHealthPeriodically(running: () => boolean): Promise<void> {
  let nextAt = 0;
  while (running()) {
    if (performance.now() >= nextAt) {
      nextAt = performance.now() + settings.healthReportEveryMs;
      await reportHealth();
    }
    await sleep(100);
  }
}

/** Lag is the age of the oldest unpublished event now: while the relay drains, near zero. */
async function reportHealth(): Promise<void> {
  try {
    gaugeMetric('outbox_lag_seconds', await outboxLagSeconds(db), MetricUnit.Seconds);
    gaugeMetric('dead_letter_queue_depth', await deadLetterQueueDepth());
  } catch (error) {
    onError(error);
  }
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

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
