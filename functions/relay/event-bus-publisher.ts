import { setTimeout as sleep } from 'node:timers/promises';
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { fullJitterDelayMs } from '../../primitives/full-jitter.ts';

/** The `source` of every event this service puts on the bus; subscribers match on it. */
export const CHARGE_EVENT_SOURCE = 'payments';

/** EventBridge accepts at most ten entries per PutEvents call. */
export const PUT_EVENTS_BATCH_SIZE = 10;

/** An outbox event, as the relay hands it over. */
export interface ChargeEventForBus {
  eventId: string;
  /** Becomes the EventBridge `detail-type` (for example `ChargeCreated`). */
  type: string;
  /** The customer the event is about. */
  aggregateId: string;
  payload: unknown;
  createdAt: Date | string;
}

/** An event the bus did not take, and why. */
export interface FailedEntry {
  eventId: string;
  /** EventBridge's per-entry ErrorCode, or the name of the error the whole call failed with. */
  errorCode: string;
  errorMessage: string;
}

/** What {@link putChargeEventsOnBus} did with each event it was given. */
export interface EventBusPublishResult {
  /** Accepted by EventBridge: the relay may mark these published. */
  publishedIds: string[];
  /** Still rejected after every attempt: the relay must leave these pending. */
  failedIds: string[];
  /** Why each of `failedIds` failed on its last attempt, for the relay's log. */
  failures: FailedEntry[];
}

/** How hard {@link putChargeEventsOnBus} retries the entries the bus rejects. */
export interface EventBusPublishOptions {
  /** Attempts per entry, the first included. Default 3. */
  maxAttempts?: number;
  /** Upper bound of the first retry's delay; doubles per retry. Default 50 ms. */
  baseDelayMs?: number;
  /** Upper bound of any retry's delay. Default 1000 ms. */
  maxDelayMs?: number;
  /** Waits between attempts; injectable so tests need not wait. */
  sleep?: (ms: number) => Promise<unknown>;
  /** A number in [0, 1) drawn for each delay; injectable so tests are deterministic. */
  random?: () => number;
}

/**
 * Puts charge events on the bus in PutEvents calls of at most ten entries. EventBridge can
 * accept part of a call (FailedEntryCount, a per-entry ErrorCode): only the rejected entries
 * are retried, a bounded number of times with full-jitter backoff, and whatever is still
 * rejected is reported in `failedIds`, so the relay never marks an event published that the
 * bus did not take. A call that throws counts as every entry in it failing.
 *
 * PutEvents is not idempotent (a retried call whose first response was lost puts the event
 * twice), so subscribers deduplicate on `detail.eventId`, as the SQS consumer does.
 */
export async function putChargeEventsOnBus(
  client: EventBridgeClient,
  busName: string,
  events: readonly ChargeEventForBus[],
  options: EventBusPublishOptions = {},
): Promise<EventBusPublishResult> {
  const result: EventBusPublishResult = { publishedIds: [], failedIds: [], failures: [] };
  for (let start = 0; start < events.length; start += PUT_EVENTS_BATCH_SIZE) {
    const batch = events.slice(start, start + PUT_EVENTS_BATCH_SIZE);
    const outcome = await publishBatch(client, busName, batch, options);
    result.publishedIds.push(...outcome.publishedIds);
    result.failedIds.push(...outcome.failedIds);
    result.failures.push(...outcome.failures);
  }
  return result;
}

/** The PutEvents entry of `event`: its `detail` has the same fields as the SQS message body. */
export function busEntryOf(busName: string, event: ChargeEventForBus): PutEventsRequestEntry {
  const occurredAt = new Date(event.createdAt);
  return {
    EventBusName: busName,
    Source: CHARGE_EVENT_SOURCE,
    DetailType: event.type,
    Time: occurredAt,
    Detail: JSON.stringify({
      eventId: event.eventId,
      type: event.type,
      aggregateId: event.aggregateId,
      occurredAt: occurredAt.toISOString(),
      data: event.payload,
    }),
  };
}

async function publishBatch(
  client: EventBridgeClient,
  busName: string,
  batch: readonly ChargeEventForBus[],
  options: EventBusPublishOptions,
): Promise<EventBusPublishResult> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const publishedIds: string[] = [];
  let pending = batch;
  for (let attempt = 1; ; attempt++) {
    const failures = await putOnce(client, busName, pending);
    const failedIds = new Set(failures.map((failure) => failure.eventId));
    publishedIds.push(...pending.filter((event) => !failedIds.has(event.eventId)).map(idOf));
    if (failures.length === 0 || attempt >= maxAttempts) {
      return { publishedIds, failedIds: [...failedIds], failures };
    }
    // The same full-jitter formula as the client's; `attempt` 1 failed, so this is retry 0.
    await (options.sleep ?? sleep)(
      fullJitterDelayMs(
        attempt - 1,
        options.baseDelayMs ?? 50,
        options.maxDelayMs ?? 1_000,
        options.random,
      ),
    );
    pending = pending.filter((event) => failedIds.has(event.eventId));
  }
}

/** One PutEvents call; returns the entries it did not accept. */
async function putOnce(
  client: EventBridgeClient,
  busName: string,
  events: readonly ChargeEventForBus[],
): Promise<FailedEntry[]> {
  let entries: { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[];
  try {
    const response = await client.send(
      new PutEventsCommand({ Entries: events.map((event) => busEntryOf(busName, event)) }),
    );
    entries = response.Entries ?? [];
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    return events.map((event) => ({
      eventId: event.eventId,
      errorCode: name,
      errorMessage: message,
    }));
  }
  // Response entries are in request order; one without an EventId was not put on the bus.
  return events.flatMap((event, index) => {
    const entry = entries[index];
    if (entry?.EventId && !entry.ErrorCode) return [];
    return [
      {
        eventId: event.eventId,
        errorCode: entry?.ErrorCode ?? 'MissingEntry',
        errorMessage: entry?.ErrorMessage ?? 'EventBridge returned no result for this entry',
      },
    ];
  });
}

function idOf(event: ChargeEventForBus): string {
  return event.eventId;
}
