import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PendingEvent } from '../store/outbox-store.ts';

/** SQS accepts at most ten entries per SendMessageBatch. */
export const SQS_BATCH_SIZE = 10;

/** Which events one SendMessageBatch call got onto the queue, and which it did not. */
export interface SendResult {
  published: string[];
  failed: string[];
}

/** The message body of an outbox event: what the consumer parses. */
export function messageBodyOf(event: PendingEvent): string {
  return JSON.stringify({
    eventId: event.eventId,
    type: event.eventType,
    occurredAt: event.createdAt.toISOString(),
    data: event.payload,
  });
}

/**
 * The event id; for a re-enqueued event (reconciliation found its charge unapplied: the first
 * message was lost) the id plus the re-enqueue count, so SQS does not drop the re-publish as
 * a repeat within its five-minute window. The consumer's inbox still dedups on the event id.
 */
export function deduplicationIdOf(event: Pick<PendingEvent, 'eventId' | 'republishCount'>): string {
  return event.republishCount > 0 ? `${event.eventId}-r${event.republishCount}` : event.eventId;
}

/**
 * Sends up to ten events in one SendMessageBatch to a FIFO queue. The outbox event id is the
 * MessageDeduplicationId (a re-send within five minutes is dropped by SQS) and the customer
 * the MessageGroupId (one customer's events are delivered in order, others in parallel).
 * A partially failed batch reports which ids failed; a failed call fails them all.
 */
export async function sendEventBatch(
  sqs: SQSClient,
  queueUrl: string,
  events: PendingEvent[],
): Promise<SendResult> {
  if (events.length > SQS_BATCH_SIZE) throw new Error(`at most ${SQS_BATCH_SIZE} events per batch`);
  try {
    const response = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: events.map((event) => ({
          Id: event.eventId,
          MessageBody: messageBodyOf(event),
          MessageGroupId: event.aggregateId,
          MessageDeduplicationId: deduplicationIdOf(event),
          MessageAttributes: { eventType: { DataType: 'String', StringValue: event.eventType } },
        })),
      }),
    );
    const published = (response.Successful ?? []).map((entry) => entry.Id ?? '');
    const publishedSet = new Set(published);
    return {
      published,
      failed: events.map((event) => event.eventId).filter((id) => !publishedSet.has(id)),
    };
  } catch {
    return { published: [], failed: events.map((event) => event.eventId) };
  }
}
