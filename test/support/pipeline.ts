import { randomBytes } from 'node:crypto';
import { DeleteQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type ChildService, startChild } from '../../scripts/local/child-process.ts';
import { MetricsRegistry } from '../../scripts/local/emf-metrics.ts';
import { insertOutboxBacklog } from '../../scripts/local/outbox-backlog.ts';
import {
  type ChargeEventQueues,
  createChargeEventQueues,
  LOCAL_AWS_ENV,
  type SqsEndpoint,
  sqsClientFor,
  startSqsEndpoint,
} from '../../scripts/local/sqs.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { CLIENT_A, CLIENT_B } from './local-api.ts';

export interface PipelineProcess {
  service: ChildService;
  metrics: MetricsRegistry;
}

export interface Pipeline {
  db: TestDatabase;
  sqs: SQSClient;
  queues: ChargeEventQueues;
  env: NodeJS.ProcessEnv;
  startApi(extra?: Record<string, string>): Promise<PipelineProcess & { url: string }>;
  startRelay(extra?: Record<string, string>): Promise<PipelineProcess>;
  startConsumer(extra?: Record<string, string>): Promise<PipelineProcess>;
  /** Deletes and recreates the queue: SQS forgets every deduplication id, as after 5 minutes. */
  forgetDeduplication(): Promise<void>;
  queueDepth(url: string): Promise<number>;
  stop(): Promise<void>;
}

export const TEST_MAX_RECEIVE_COUNT = 3;
export const TEST_VISIBILITY_TIMEOUT_SECONDS = 2;

/**
 * A database and a pair of FIFO queues of its own, and starters for the real API, relay and
 * consumer processes wired to them. Every process started is stopped by `stop()`.
 */
export async function createPipeline(endpoint: SqsEndpoint): Promise<Pipeline> {
  const db = await createTestDatabase();
  const sqs = sqsClientFor(endpoint.endpoint);
  const name = `charges-${randomBytes(4).toString('hex')}`;
  const queueOptions = {
    name,
    maxReceiveCount: TEST_MAX_RECEIVE_COUNT,
    visibilityTimeoutSeconds: TEST_VISIBILITY_TIMEOUT_SECONDS,
  };
  const queues = await createChargeEventQueues(sqs, queueOptions);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL: endpoint.endpoint,
    DATABASE_URL: db.url,
    QUEUE_URL: queues.queueUrl,
    DLQ_URL: queues.deadLetterQueueUrl,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    LOCAL_RELAY_INTERVAL_MS: '200',
    LOCAL_API_KEYS: `${CLIENT_A.apiKey}:${CLIENT_A.clientId},${CLIENT_B.apiKey}:${CLIENT_B.clientId}`,
    PORT: '0',
  };
  const started: ChildService[] = [];

  async function start(script: string, name: string, extra: Record<string, string> = {}) {
    const metrics = new MetricsRegistry();
    const service = startChild(script, {
      name,
      env: { ...env, ...extra },
      onLine: (line) => metrics.observeLine(line),
    });
    started.push(service);
    const ready = await service.ready;
    return { service, metrics, ready };
  }

  return {
    db,
    sqs,
    queues,
    env,
    startApi: async (extra) => {
      const { service, metrics, ready } = await start('scripts/local/api-server.ts', 'api', extra);
      return { service, metrics, url: String(ready.listening) };
    },
    startRelay: (extra) => start('scripts/local/relay-process.ts', 'relay', extra),
    startConsumer: (extra) => start('scripts/local/consumer-process.ts', 'consumer', extra),
    forgetDeduplication: async () => {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queues.queueUrl }));
      await createChargeEventQueues(sqs, queueOptions);
    },
    queueDepth: async (url) => {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(Attributes.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    },
    stop: async () => {
      await Promise.all(started.map((service) => service.stop()));
      await db.drop();
    },
  };
}

export { startSqsEndpoint };

/** Polls `probe` every 100 ms until it returns true; fails after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Outbox rows for `count` charges across 200 customers, as left behind by a broker outage. */
export function insertBacklog(p: Pipeline, count: number): Promise<void> {
  return insertOutboxBacklog(p.db.pool, count, 'client-a');
}

/** Outbox rows not yet marked published. */
export async function unpublishedEvents(p: Pipeline): Promise<number> {
  const { rows } = await p.db.pool.query(
    'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
  );
  return rows[0].n;
}
