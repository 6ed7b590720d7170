import {
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/** SQS allows ten message attributes; two are ours (the reason and the source message). */
const MAX_COPIED_ATTRIBUTES = 8;
const MAX_REASON_LENGTH = 1_000;

/**
 * Moves a message that can never be applied to the FIFO dead-letter queue now, with its body,
 * its attributes, the reason and the id it had, instead of failing it maxReceiveCount times:
 * a failing message would hold up its whole message group (its customer) for every retry,
 * and with real batches fail the valid messages behind it too. The source message id is the
 * deduplication id, so a crash before the acknowledgement cannot dead-letter it twice.
 */
export async function sendToDeadLetterQueue(
  sqs: SQSClient,
  deadLetterQueueUrl: string,
  record: SQSRecord,
  reason: string,
): Promise<void> {
  const copied = Object.entries(record.messageAttributes ?? {})
    .slice(0, MAX_COPIED_ATTRIBUTES)
    .map(([name, value]): [string, MessageAttributeValue] => [
      name,
      value.binaryValue !== undefined
        ? { DataType: value.dataType, BinaryValue: Buffer.from(value.binaryValue, 'base64') }
        : { DataType: value.dataType, StringValue: value.stringValue ?? '' },
    ]);
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: deadLetterQueueUrl,
      MessageBody: record.body === '' ? '(empty body)' : record.body,
      MessageGroupId: record.attributes.MessageGroupId ?? 'poison',
      MessageDeduplicationId: record.messageId,
      MessageAttributes: {
        ...Object.fromEntries(copied),
        deadLetterReason: { DataType: 'String', StringValue: reason.slice(0, MAX_REASON_LENGTH) },
        sourceMessageId: { DataType: 'String', StringValue: record.messageId },
      },
    }),
  );
}
