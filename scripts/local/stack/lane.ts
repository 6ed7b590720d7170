import { DeleteQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import { createPool } from '../../../functions/store/database.ts';
import type { ChildService } from '../child-process.ts';
import { type ChargeEventQueues, createChargeEventQueues } from '../sqs.ts';
import { type EnvironmentOptions, processEnvironment } from './environment.ts';
import {
  type LineSink,
  type Role,
  type StartedProcess,
  type SupervisedProcess,
  startProcess,
  superviseProcess,
} from './processes.ts';

export interface QueueOptions {
  name: string;
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
}

export interface LaneOptions {
  /** A migrated database; `drop` (if given) is called by {@link Lane.stop}. */
  database: { url: string; pool?: pg.Pool; drop?: () => Promise<void> };
  /** The SQS endpoint; with `queues`, the FIFO queue and its DLQ are created on it. */
  sqs?: { endpoint: string; client: SQSClient };
  queues?: QueueOptions;
  /** `apiKey:clientId,…` as LOCAL_API_KEYS. */
  apiKeys: string;
  /** API port; 0 (default) picks a free one. */
  port?: number;
  metricsViewUrl?: string;
  /** How the inherited environment is filtered, and what goes on top of the wiring. */
  environment?: EnvironmentOptions;
  /** Per role, on top of `environment.extra`. */
  roleEnv?: Partial<Record<Role, Record<string, string>>>;
  onLine?: LineSink;
  onRestart?: (role: Role, exit: number | string) => void;
}

/**
 * One payment path: a database and its queues, the environment every process on it gets,
 * and its processes, started once ({@link Lane.start}) or supervised ({@link Lane.supervise}).
 * `npm start` and the proof run one lane on their own PostgreSQL; each test file and each
 * benchmark phase runs one on a copy of a template database.
 */
export interface Lane {
  databaseUrl: string;
  pool: pg.Pool;
  queues?: ChargeEventQueues;
  /** The environment the processes get (without per-role and per-start extras). */
  env: NodeJS.ProcessEnv;
  envFor(role: Role, extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** One instance of `role`, not restarted when it dies; stopped by {@link stop}. */
  start(role: Role, extra?: Record<string, string>): Promise<StartedProcess>;
  /** `role`, started again whenever it dies; stopped by {@link stop}. */
  supervise(role: Role): SupervisedProcess;
  /** Stops one instance started with {@link start}. */
  stopProcess(started: StartedProcess): Promise<void>;
  /** Deletes and recreates the queue: SQS forgets every deduplication id, as after 5 minutes. */
  forgetDeduplication(): Promise<void>;
  /** Visible + in-flight messages of `url` (default: the charge-event queue). */
  queueDepth(url?: string): Promise<number>;
  /** Outbox rows not yet marked published. */
  unpublishedEvents(): Promise<number>;
  /** Stops its processes, then closes (and drops, if it owns it) its database. */
  stop(): Promise<void>;
}

export async function createLane(options: LaneOptions): Promise<Lane> {
  const pool = options.database.pool ?? createPool(options.database.url, { max: 4 });
  const sqs = options.sqs;
  const queues =
    sqs && options.queues ? await createChargeEventQueues(sqs.client, options.queues) : undefined;
  const env = processEnvironment(
    {
      databaseUrl: options.database.url,
      apiKeys: options.apiKeys,
      port: options.port ?? 0,
      ...(sqs ? { sqsEndpoint: sqs.endpoint } : {}),
      ...(queues
        ? { queueUrl: queues.queueUrl, deadLetterQueueUrl: queues.deadLetterQueueUrl }
        : {}),
      ...(options.metricsViewUrl ? { metricsViewUrl: options.metricsViewUrl } : {}),
    },
    options.environment,
  );
  const envFor = (role: Role, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...env,
    ...options.roleEnv?.[role],
    ...extra,
  });
  const instances: ChildService[] = [];
  const supervised: SupervisedProcess[] = [];
  const lineSink = options.onLine ? { onLine: options.onLine } : {};

  const requireQueues = (): {
    client: SQSClient;
    queues: ChargeEventQueues;
    queue: QueueOptions;
  } => {
    if (!sqs || !queues || !options.queues) throw new Error('this lane has no queues');
    return { client: sqs.client, queues, queue: options.queues };
  };

  return {
    databaseUrl: options.database.url,
    pool,
    ...(queues ? { queues } : {}),
    env,
    envFor,
    start: (role, extra = {}) =>
      startProcess(role, envFor(role, extra), {
        ...lineSink,
        // Registered at spawn, so stop() also ends one that never became ready.
        onSpawn: (service) => instances.push(service),
      }),
    supervise: (role) => {
      const process = superviseProcess(role, (extra) => envFor(role, extra), {
        ...lineSink,
        ...(options.onRestart ? { onRestart: options.onRestart } : {}),
      });
      supervised.push(process);
      return process;
    },
    stopProcess: async (started) => {
      await started.service.stop();
      const index = instances.indexOf(started.service);
      if (index >= 0) instances.splice(index, 1);
    },
    forgetDeduplication: async () => {
      const { client, queues: created, queue } = requireQueues();
      await client.send(new DeleteQueueCommand({ QueueUrl: created.queueUrl }));
      await createChargeEventQueues(client, queue);
    },
    queueDepth: async (url) => {
      const { client, queues: created } = requireQueues();
      const { Attributes = {} } = await client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url ?? created.queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(Attributes.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    },
    unpublishedEvents: async () => {
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
      );
      return rows[0]?.n ?? 0;
    },
    stop: async () => {
      await Promise.all([
        ...supervised.map((process) => process.stop(2_000)),
        ...instances.map((service) => service.stop(2_000)),
      ]);
      if (options.database.drop) await options.database.drop();
      else if (!options.database.pool) await pool.end();
    },
  };
}
