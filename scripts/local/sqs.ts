import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';

/** Credentials and region for a local SQS endpoint (fauxqs or LocalStack accept any). */
export const LOCAL_AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
};

export interface SqsEndpoint {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * The SQS endpoint for local runs and tests: AWS_ENDPOINT_URL when it points at one
 * (LocalStack), otherwise an embedded fauxqs server on a free port of 127.0.0.1 only.
 * fauxqs' own `startFauxqs` always listens on 0.0.0.0 (every interface), so we listen its
 * app ourselves: nothing but this machine can reach the queues.
 */
export async function startSqsEndpoint(): Promise<SqsEndpoint> {
  const external = process.env.AWS_ENDPOINT_URL;
  if (external) return { endpoint: external, stop: async () => {} };
  const app = buildApp({ logger: false });
  const endpoint = await app.listen({ port: 0, host: '127.0.0.1' });
  return { endpoint, stop: () => app.close() };
}

export function sqsClientFor(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: LOCAL_AWS_ENV.AWS_REGION,
    useQueueUrlAsEndpoint: false,
    credentials: {
      accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID,
      secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY,
    },
  });
}

export interface ChargeEventQueues {
  queueUrl: string;
  deadLetterQueueUrl: string;
}

/**
 * Creates (or finds) the FIFO charge-event queue and its FIFO DLQ, with the redrive policy
 * that moves a message to the DLQ after `maxReceiveCount` receives. The same shape as the
 * CDK stack's queues; content-based deduplication stays off because the relay sets
 * MessageDeduplicationId to the outbox event id.
 */
export async function createChargeEventQueues(
  sqs: SQSClient,
  options: { name: string; maxReceiveCount?: number; visibilityTimeoutSeconds?: number },
): Promise<ChargeEventQueues> {
  const deadLetter = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${options.name}-dlq.fifo`,
      Attributes: { FifoQueue: 'true', MessageRetentionPeriod: '1209600' },
    }),
  );
  const deadLetterQueueUrl = deadLetter.QueueUrl ?? '';
  const arn = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${options.name}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        ContentBasedDeduplication: 'false',
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: arn.Attributes?.QueueArn,
          maxReceiveCount: String(options.maxReceiveCount ?? 3),
        }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl ?? '', deadLetterQueueUrl };
}

/** The URL of an existing queue by name. */
export async function queueUrlOf(sqs: SQSClient, name: string): Promise<string> {
  return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? '';
}
