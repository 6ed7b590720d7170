import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { invokeLocally, type LambdaHandler } from './lambda-runtime.ts';

export interface EventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: LambdaHandler<SQSEvent, SQSBatchResponse | undefined>;
  functionName: string;
  batchSize?: number;
  /** Concurrent pollers, like the mapping's concurrency (each one is one invocation at a time). */
  pollers?: number;
  timeoutMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Feeds a Lambda handler from an SQS queue the way Lambda's SQS event source mapping does:
 * long-polls batches of up to ten, invokes the handler with an SQSEvent, deletes the messages
 * that succeeded and leaves the ones in `batchItemFailures` (or the whole batch, if the
 * invocation fails or times out) to reappear after the visibility timeout. The queue's own
 * redrive policy moves a message to the DLQ after maxReceiveCount receives.
 * @returns a function that stops polling and resolves once in-flight batches are done
 */
export async function startSqsEventSource(
  options: EventSourceOptions,
): Promise<() => Promise<void>> {
  const { sqs, queueUrl } = options;
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = attributes.Attributes?.QueueArn ?? '';
  let running = true;

  async function pollOnce(): Promise<void> {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: options.batchSize ?? 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) return;
    const event: SQSEvent = { Records: messages.map((message) => toRecord(message, queueArn)) };
    let failed: Set<string>;
    try {
      const response = await invokeLocally(options.handler, event, {
        functionName: options.functionName,
        timeoutMs: options.timeoutMs ?? 30_000,
      });
      failed = new Set(
        (response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier),
      );
    } catch (error) {
      options.onError?.(error);
      failed = new Set(messages.map((message) => message.MessageId ?? ''));
    }
    const done = messages.filter((message) => !failed.has(message.MessageId ?? ''));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle ?? '',
          })),
        }),
      );
    }
  }

  async function poll(): Promise<void> {
    while (running) {
      try {
        await pollOnce();
      } catch (error) {
        // The queue may be briefly unreachable (or being recreated in a test); keep polling.
        options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  const pollers = Array.from({ length: options.pollers ?? 2 }, () => poll());
  return async () => {
    running = false;
    await Promise.all(pollers);
  };
}

function toRecord(message: Message, queueArn: string): SQSRecord {
  const system = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? String(Date.now()),
      SenderId: system.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp:
        system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      SequenceNumber: system.SequenceNumber,
      MessageGroupId: system.MessageGroupId,
      MessageDeduplicationId: system.MessageDeduplicationId,
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        { dataType: value.DataType ?? 'String', stringValue: value.StringValue },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: process.env.AWS_REGION ?? 'us-east-1',
  };
}
