/**
 * Runbook picture 4 and its handling: dead-letter queue growth (alarm: any growth).
 *
 *   node scripts/runbook/dlq.ts poison  --queue-url Q [--count 3]      # reproduce: DLQ grows
 *   node scripts/runbook/dlq.ts inspect --dlq-url D                    # what is in it, and why
 *   node scripts/runbook/dlq.ts redrive --dlq-url D --queue-url Q      # after the fix: back to Q
 *   node scripts/runbook/dlq.ts delete  --dlq-url D --id MESSAGE_ID    # drop one that must not apply
 *
 * `--endpoint` is the SQS endpoint (default AWS_ENDPOINT_URL; npm start prints both the
 * endpoint and the queue URLs). `poison` publishes charge events the consumer cannot apply (a
 * currency outside its allow-list, a missing field): each fails, is received maxReceiveCount
 * times (3; with npm start's 30 s visibility timeout that takes about a minute), and moves to
 * the DLQ; the relay then reports dead_letter_queue_depth > 0. `inspect` reads the DLQ without
 * consuming it and says why each message fails. `redrive` sends every DLQ message back to the
 * queue with its group and a new deduplication id, then deletes it from the DLQ: safe, because
 * the ledger inbox absorbs any event that was already applied.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { chargeCreatedMessageSchema } from '../../functions/domain/charge-events.ts';

const USAGE = `node scripts/runbook/dlq.ts poison|inspect|redrive|delete [--endpoint URL] [--queue-url Q] [--dlq-url D] [--count N] [--id ID]`;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    endpoint: { type: 'string', default: process.env.AWS_ENDPOINT_URL },
    'queue-url': { type: 'string', default: process.env.QUEUE_URL },
    'dlq-url': { type: 'string', default: process.env.DLQ_URL },
    count: { type: 'string', default: '3' },
    id: { type: 'string' },
  },
});
const command = positionals[0] ?? 'inspect';
const need = (name: 'queue-url' | 'dlq-url'): string => {
  const value = values[name];
  if (!value) {
    console.error(`--${name} is required for ${command}\n\n${USAGE}`);
    process.exit(2);
  }
  return value;
};
const sqs = new SQSClient({
  region: process.env.AWS_REGION ?? 'us-east-1',
  ...(values.endpoint ? { endpoint: values.endpoint, useQueueUrlAsEndpoint: false } : {}),
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
  },
});

/** Receives every message of `url` once, hidden for `visibilitySeconds` (0: a peek). */
async function receiveAll(url: string, visibilitySeconds: number): Promise<Message[]> {
  const messages: Message[] = [];
  for (let round = 0; round < 100; round++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: visibilitySeconds,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const fresh = Messages.filter(
      (message) => !messages.some((seen) => seen.MessageId === message.MessageId),
    );
    if (fresh.length === 0) break;
    messages.push(...fresh);
  }
  return messages;
}

function whyItFails(body: string): string {
  try {
    const result = chargeCreatedMessageSchema.safeParse(JSON.parse(body));
    if (result.success)
      return 'valid now: it failed for another reason (database, a bug since fixed): redrive it';
    return result.error.issues
      .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
      .join('; ');
  } catch {
    return 'not JSON';
  }
}

switch (command) {
  case 'poison': {
    const queueUrl = need('queue-url');
    const count = Number(values.count);
    for (let i = 0; i < count; i++) {
      const event = {
        eventId: randomUUID(),
        type: 'charge.created',
        occurredAt: new Date().toISOString(),
        data:
          i % 2 === 0
            ? {
                chargeId: randomUUID(),
                clientId: 'local-client',
                customerId: 'cus_poison',
                amount: 1000,
                currency: 'JPY',
              }
            : {
                chargeId: randomUUID(),
                clientId: 'local-client',
                customerId: 'cus_poison',
                amount: '1000',
                currency: 'EUR',
              },
      };
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(event),
          MessageGroupId: `poison-${i}`,
          MessageDeduplicationId: event.eventId,
        }),
      );
      console.log(`poison ${event.eventId}: ${whyItFails(JSON.stringify(event))}`);
    }
    console.log(
      'each fails 3 receives (about a minute at a 30 s visibility timeout), then moves to the DLQ;',
    );
    console.log(
      'watch dead_letter_queue_depth on the dashboard, then: node scripts/runbook/dlq.ts inspect --dlq-url …',
    );
    break;
  }
  case 'inspect': {
    const messages = await receiveAll(need('dlq-url'), 0);
    console.log(`${messages.length} message(s) in the DLQ`);
    for (const message of messages) {
      const attributes = message.Attributes ?? {};
      console.log(
        `- ${message.MessageId} group ${attributes.MessageGroupId} received ${attributes.ApproximateReceiveCount}x, sent ${new Date(Number(attributes.SentTimestamp)).toISOString()}\n    why: ${whyItFails(message.Body ?? '')}\n    body: ${message.Body}`,
      );
    }
    break;
  }
  case 'redrive': {
    const dlqUrl = need('dlq-url');
    const queueUrl = need('queue-url');
    const messages = await receiveAll(dlqUrl, 60);
    for (const message of messages) {
      const attributes = message.Attributes ?? {};
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: message.Body ?? '',
          MessageGroupId: attributes.MessageGroupId ?? 'redrive',
          // A new id: inside SQS's 5-minute window the original would be dropped as a duplicate.
          MessageDeduplicationId:
            `${attributes.MessageDeduplicationId ?? message.MessageId}-redrive-${Date.now()}`.slice(
              0,
              128,
            ),
        }),
      );
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle ?? '' }),
      );
      console.log(`redriven ${message.MessageId}: ${whyItFails(message.Body ?? '')}`);
    }
    console.log(
      `${messages.length} message(s) sent back; the inbox absorbs any that was already applied`,
    );
    break;
  }
  case 'delete': {
    const dlqUrl = need('dlq-url');
    if (!values.id) {
      console.error(`delete needs --id MESSAGE_ID (from inspect)\n\n${USAGE}`);
      process.exit(2);
    }
    const messages = await receiveAll(dlqUrl, 30);
    const target = messages.find((message) => message.MessageId === values.id);
    if (!target) {
      console.error(`${values.id} is not in the DLQ`);
      process.exit(1);
    }
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: target.ReceiptHandle ?? '' }),
    );
    console.log(`deleted ${values.id}; record why in the incident notes`);
    break;
  }
  default:
    console.error(USAGE);
    process.exit(2);
}
