import { randomBytes } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { insertOutboxBacklog } from '../../scripts/local/outbox-backlog.ts';
import {
  type ChargeEventQueues,
  type SqsEndpoint,
  sqsClientFor,
  startSqsEndpoint,
} from '../../scripts/local/sqs.ts';
import { createLane, type Lane } from '../../scripts/local/stack/lane.ts';
import type { StartedProcess } from '../../scripts/local/stack/processes.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { TWO_CLIENTS } from './local-api.ts';

export { startSqsEndpoint } from '../../scripts/local/sqs.ts';

export type PipelineProcess = StartedProcess;

export interface Pipeline {
  db: TestDatabase;
  lane: Lane;
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
 * A lane of the local stack for one test file: a database and a pair of FIFO queues of its
 * own, and starters for the real API, relay and consumer processes wired to them. Every
 * process started is stopped by `stop()`, which also drops the database.
 */
/**
 * Starts an SQS endpoint and a pipeline before the calling file's tests and stops both after
 * them; `pipeline` is readable inside the tests.
 */
export function pipelineForThisFile(): { readonly pipeline: Pipeline } {
  let endpoint: SqsEndpoint | undefined;
  let pipeline: Pipeline | undefined;
  beforeAll(async () => {
    endpoint = await startSqsEndpoint();
    pipeline = await createPipeline(endpoint);
  });
  afterAll(async () => {
    await pipeline?.stop();
    await endpoint?.stop();
  });
  return {
    get pipeline() {
      if (!pipeline) throw new Error('the pipeline is started in beforeAll');
      return pipeline;
    },
  };
}

export async function createPipeline(endpoint: SqsEndpoint): Promise<Pipeline> {
  const db = await createTestDatabase();
  const sqs = sqsClientFor(endpoint.endpoint);
  const lane = await createLane({
    database: db,
    sqs: { endpoint: endpoint.endpoint, client: sqs },
    queues: {
      name: `charges-${randomBytes(4).toString('hex')}`,
      maxReceiveCount: TEST_MAX_RECEIVE_COUNT,
      visibilityTimeoutSeconds: TEST_VISIBILITY_TIMEOUT_SECONDS,
    },
    apiKeys: TWO_CLIENTS,
    environment: { quiet: true, extra: { LOCAL_RELAY_INTERVAL_MS: '200' } },
  });
  return {
    db,
    lane,
    sqs,
    queues: lane.queues as ChargeEventQueues,
    env: lane.env,
    startApi: async (extra) => {
      const api = await lane.start('api', extra);
      return { ...api, url: String(api.url) };
    },
    startRelay: (extra) => lane.start('relay', extra),
    startConsumer: (extra) => lane.start('consumer', extra),
    forgetDeduplication: lane.forgetDeduplication,
    queueDepth: lane.queueDepth,
    stop: lane.stop,
  };
}

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
export function unpublishedEvents(p: Pipeline): Promise<number> {
  return p.lane.unpublishedEvents();
}
