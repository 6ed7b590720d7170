/**
 * The local payment path for the proof, the fault schedules and the runbook, built from the
 * same pieces as `npm start` (scripts/local): PostgreSQL (embedded unless a URL is given),
 * migrations, an SQS endpoint with the FIFO queue and its DLQ, the metrics view, and the API,
 * relay and consumer as child processes that are restarted when they die. Unlike `npm start`
 * it hands the caller the levers a proof needs: SIGKILL a process, arm a failpoint for its
 * next life, hold a restart until the caller is ready, start extra (armed) instances, and
 * make SQS forget its deduplication ids.
 */
import { DeleteQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import pg from 'pg';
import { migrateToLatest } from '../../functions/migrate/run-migrations.ts';
import { createPool } from '../../functions/store/database.ts';
import { type ChildService, startChild } from '../local/child-process.ts';
import {
  freePort,
  type RunningPostgres,
  startEmbeddedPostgres,
} from '../local/embedded-postgres.ts';
import { MetricsView, type RunningMetricsView, startMetricsView } from '../local/metrics-view.ts';
import {
  type ChargeEventQueues,
  createChargeEventQueues,
  LOCAL_AWS_ENV,
  type SqsEndpoint,
  sqsClientFor,
  startSqsEndpoint,
} from '../local/sqs.ts';

export type Role = 'api' | 'relay' | 'consumer';

const SCRIPTS: Record<Role, string> = {
  api: 'scripts/local/api-server.ts',
  relay: 'scripts/local/relay-process.ts',
  consumer: 'scripts/local/consumer-process.ts',
};

export interface LocalStackOptions {
  /** Use this (existing) database; default: an embedded PostgreSQL server of its own. */
  databaseUrl?: string;
  /** API port; 0 (default) picks a free one, kept across API restarts. */
  port?: number;
  /** Metrics view port; default any free one. */
  metricsPort?: number;
  /** `apiKey:clientId,…` as LOCAL_API_KEYS. */
  apiKeys?: string;
  /** Environment for every process (after the stack's own). */
  env?: Record<string, string>;
  /** Per role, on top of `env`. */
  roleEnv?: Partial<Record<Role, Record<string, string>>>;
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
  /** Every non-EMF output line of the processes. */
  onLine?: (line: string, service: string) => void;
}

/** A process the stack keeps running: when it dies it is started again. */
export interface SupervisedProcess {
  readonly role: Role;
  /** The running instance (or the one starting). */
  readonly current: ChildService;
  /** How often it died and was started again. */
  readonly restarts: number;
  /** Resolves when the current instance is ready. */
  ready(): Promise<void>;
  /** Resolves with the exit code/signal of the current instance. */
  exited(): Promise<number | string>;
  /** Extra environment for the next start only (e.g. an armed failpoint). */
  armNextStart(env: Record<string, string>): void;
  /**
   * Queues `hook` for the next restart that has none yet: it runs (and is awaited) after the
   * dead instance is gone and before the new one starts, e.g. to wait for the queue to drain.
   */
  beforeNextRestart(hook: () => Promise<void>): void;
  /** SIGKILLs the current instance, like a crashed Lambda environment. */
  kill(): Promise<number | string>;
}

export interface LocalStack {
  apiUrl: string;
  /** The metrics view's own URL (also reachable through the API at /metrics, /dashboard). */
  metricsUrl: string;
  view: MetricsView;
  databaseUrl: string;
  pool: pg.Pool;
  sqs: SQSClient;
  sqsEndpoint: string;
  queues: ChargeEventQueues;
  processes: Record<Role, SupervisedProcess>;
  /** The environment the processes get (without per-start extras). */
  env: NodeJS.ProcessEnv;
  /** One more instance of `role`, not restarted when it dies; stopped by {@link stop}. */
  startInstance(role: Role, env?: Record<string, string>): Promise<ChildService & { url?: string }>;
  /** Deletes and recreates the queue: SQS forgets every deduplication id, as after 5 minutes. */
  forgetDeduplication(): Promise<void>;
  /** Visible + in-flight messages of `url` (default: the charge-event queue). */
  queueDepth(url?: string): Promise<number>;
  unpublishedEvents(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts the stack; resolves once the API, relay and consumer are ready. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const cleanup: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
    cleanup.length = 0;
  };
  try {
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      const embedded: RunningPostgres = await startEmbeddedPostgres();
      cleanup.push(() => embedded.stop());
      const admin = new pg.Client(embedded.adminUrl);
      await admin.connect();
      await admin.query('CREATE DATABASE payments');
      await admin.end();
      databaseUrl = embedded.urlFor('payments');
    }
    await migrateToLatest(databaseUrl);
    const pool = createPool(databaseUrl, { max: 4 });
    // An idle connection dropped while the stack shuts down is not an error of the run.
    pool.on('error', () => {});
    cleanup.push(() => pool.end());

    const endpoint: SqsEndpoint = await startSqsEndpoint();
    cleanup.push(() => endpoint.stop());
    const sqs = sqsClientFor(endpoint.endpoint);
    const queueOptions = {
      name: `prove-${process.pid}-${Date.now().toString(36)}`,
      maxReceiveCount: options.maxReceiveCount ?? 3,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 5,
    };
    const queues = await createChargeEventQueues(sqs, queueOptions);

    const view = new MetricsView();
    const metrics: RunningMetricsView = await startMetricsView({
      view,
      ...(options.metricsPort === undefined ? {} : { port: options.metricsPort }),
    });
    cleanup.push(() => metrics.close());

    const port = options.port || (await freePort());
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...LOCAL_AWS_ENV,
      AWS_ENDPOINT_URL: endpoint.endpoint,
      DATABASE_URL: databaseUrl,
      QUEUE_URL: queues.queueUrl,
      DLQ_URL: queues.deadLetterQueueUrl,
      METRICS_VIEW_URL: metrics.url,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      LOCAL_API_KEYS: options.apiKeys ?? 'local-dev-key:local-client',
      PORT: String(port),
      ...options.env,
    };
    delete env.FAILPOINTS;

    const onLine = (line: string, service: string) => {
      if (view.observeLine(line) || line.includes('"_aws"')) return;
      options.onLine?.(line, service);
    };
    const envFor = (role: Role, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
      ...env,
      ...options.roleEnv?.[role],
      ...extra,
    });

    let stopping = false;
    const extras: ChildService[] = [];
    cleanup.push(async () => {
      stopping = true;
      await Promise.all(extras.map((service) => service.stop(2_000)));
    });

    const supervise = (role: Role): SupervisedProcess => {
      let armed: Record<string, string> = {};
      const hooks: (() => Promise<void>)[] = [];
      let restarts = 0;
      let current: ChildService;
      const launch = (): ChildService => {
        const extra = armed;
        armed = {};
        const service = startChild(SCRIPTS[role], { name: role, env: envFor(role, extra), onLine });
        service.ready.catch(() => {});
        service.exited.then(async () => {
          if (stopping) return;
          const before = hooks.shift();
          await before?.().catch((error: unknown) =>
            options.onLine?.(`before-restart hook failed: ${String(error)}`, role),
          );
          if (stopping) return;
          restarts += 1;
          view.recordRestart(role);
          current = launch();
        });
        return service;
      };
      current = launch();
      return {
        role,
        get current() {
          return current;
        },
        get restarts() {
          return restarts;
        },
        ready: async () => {
          await current.ready;
        },
        exited: () => current.exited,
        armNextStart: (extra) => {
          armed = { ...armed, ...extra };
        },
        beforeNextRestart: (next) => {
          hooks.push(next);
        },
        kill: () => {
          const victim = current;
          victim.child.kill('SIGKILL');
          return victim.exited;
        },
      };
    };

    const processes = {
      api: supervise('api'),
      relay: supervise('relay'),
      consumer: supervise('consumer'),
    };
    cleanup.push(async () => {
      stopping = true;
      await Promise.all(Object.values(processes).map((process) => process.current.stop(2_000)));
    });
    await Promise.all(Object.values(processes).map((process) => process.ready()));

    return {
      apiUrl: `http://127.0.0.1:${port}`,
      metricsUrl: metrics.url,
      view,
      databaseUrl,
      pool,
      sqs,
      sqsEndpoint: endpoint.endpoint,
      queues,
      processes,
      env,
      startInstance: async (role, extra = {}) => {
        const service = startChild(SCRIPTS[role], {
          name: `${role}*`,
          env: envFor(role, { PORT: '0', ...extra }),
          onLine,
        });
        extras.push(service);
        const ready = await service.ready;
        return Object.assign(service, ready.listening ? { url: String(ready.listening) } : {});
      },
      forgetDeduplication: async () => {
        await sqs.send(new DeleteQueueCommand({ QueueUrl: queues.queueUrl }));
        await createChargeEventQueues(sqs, queueOptions);
      },
      queueDepth: async (url = queues.queueUrl) => {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
            ],
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
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
