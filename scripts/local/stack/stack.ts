/**
 * The one local stack: PostgreSQL (embedded and supervised, or DATABASE_URL's), migrations,
 * the SQS endpoint and queues, the metrics view, and the supervised API, relay and consumer
 * processes, with the handles a proof needs (kill and restart a process or the database,
 * queue depth, SQS forgetting its deduplication ids). `npm start`, `npm run prove`, the seeded
 * schedules, `npm run bench` and the integration tests all start what they run through here.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { migrateToLatest } from '../../../functions/migrate/run-migrations.ts';
import type { ChildService } from '../child-process.ts';
import {
  freePort,
  type RunningPostgres,
  startEmbeddedPostgres,
  withAdminClient,
} from '../embedded-postgres.ts';
import { MetricsView, type RunningMetricsView, startMetricsView } from '../metrics-view.ts';
import {
  type ChargeEventQueues,
  type SqsEndpoint,
  sqsClientFor,
  startSqsEndpoint,
} from '../sqs.ts';
import { createLane, type Lane, type QueueOptions } from './lane.ts';
import type { LineSink, Role, SupervisedProcess } from './processes.ts';

export type { Role, SupervisedProcess } from './processes.ts';

/** The servers every lane shares: one PostgreSQL server and one SQS endpoint. */
export interface StackServices {
  /** The embedded server, supervised; absent when the stack uses DATABASE_URL's server. */
  postgres?: RunningPostgres;
  /** A URL on the server for CREATE/DROP DATABASE (its maintenance database when embedded). */
  adminUrl: string;
  sqs: { endpoint: string; client: SQSClient };
  stop(): Promise<void>;
}

/**
 * Starts an embedded PostgreSQL server unless `serverUrl` names one, and the SQS endpoint
 * (embedded fauxqs unless AWS_ENDPOINT_URL names one).
 */
export async function startStackServices(
  options: {
    serverUrl?: string;
    keepData?: boolean;
    onDatabaseRestart?: (exit: number | string) => void;
    log?: (message: string) => void;
  } = {},
): Promise<StackServices> {
  let postgres: RunningPostgres | undefined;
  let endpoint: SqsEndpoint | undefined;
  const stop = async () => {
    await endpoint?.stop().catch(() => {});
    await postgres?.stop();
  };
  try {
    if (!options.serverUrl) {
      options.log?.('starting embedded PostgreSQL…');
      postgres = await startEmbeddedPostgres({
        ...(options.keepData ? { keepData: true } : {}),
        ...(options.onDatabaseRestart ? { onRestart: options.onDatabaseRestart } : {}),
      });
      options.log?.(
        `PostgreSQL data directory: ${postgres.dataDir}${options.keepData ? ' (kept on exit)' : ''}`,
      );
    }
    endpoint = await startSqsEndpoint();
    return {
      ...(postgres ? { postgres } : {}),
      adminUrl: options.serverUrl ?? (postgres as RunningPostgres).adminUrl,
      sqs: { endpoint: endpoint.endpoint, client: sqsClientFor(endpoint.endpoint) },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface LocalStackOptions {
  /** Use this (existing) database, migrated on start; default: an embedded server of its own. */
  databaseUrl?: string;
  /** Keep the embedded server's data directory on stop. */
  keepData?: boolean;
  /** API port; 0 (default) picks a free one, kept across API restarts. */
  port?: number;
  /** Metrics view port; default any free one. */
  metricsPort?: number;
  /** `apiKey:clientId,…` as LOCAL_API_KEYS; default local-dev-key:local-client. */
  apiKeys?: string;
  /** Environment for every process (after the stack's own). */
  env?: Record<string, string>;
  /** Per role, on top of `env`. */
  roleEnv?: Partial<Record<Role, Record<string, string>>>;
  /** Inherited variables the processes must not see. */
  dropInherited?: readonly string[];
  /** Handlers log errors only. */
  quiet?: boolean;
  queue?: Partial<QueueOptions>;
  /** Every non-EMF output line of the processes. */
  onLine?: LineSink;
  /** The stack's own progress messages. */
  log?: (message: string) => void;
}

/** The database of a stack, as a process it supervises. */
export interface DatabaseHandle {
  /** Whether the stack runs the server (and can kill it). */
  readonly embedded: boolean;
  /** How often the server died and was started again. */
  readonly restarts: number;
  dataDir?: string;
  /** SIGKILLs the PostgreSQL server; it is started again on the same directory and port. */
  kill(): Promise<void>;
  /** Resolves once it accepts connections again. */
  ready(): Promise<void>;
}

export interface LocalStack {
  apiUrl: string;
  /** The metrics view's own URL (also reachable through the API at /metrics, /dashboard). */
  metricsUrl: string;
  view: MetricsView;
  databaseUrl: string;
  pool: Lane['pool'];
  sqs: SQSClient;
  sqsEndpoint: string;
  queues: ChargeEventQueues;
  processes: Record<Role, SupervisedProcess>;
  database: DatabaseHandle;
  /** The environment the processes get (without per-start extras). */
  env: NodeJS.ProcessEnv;
  /** One more instance of `role`, not restarted when it dies; stopped by {@link stop}. */
  startInstance(role: Role, env?: Record<string, string>): Promise<ChildService & { url?: string }>;
  forgetDeduplication: Lane['forgetDeduplication'];
  queueDepth: Lane['queueDepth'];
  unpublishedEvents: Lane['unpublishedEvents'];
  /** Stops the processes, the metrics view, the SQS endpoint, then PostgreSQL. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the stack; resolves once the API, relay and consumer are ready. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const view = new MetricsView();
  const cleanup: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      for (const step of cleanup.reverse()) await step().catch(() => {});
    })();
    return stopped;
  };
  try {
    const services = await startStackServices({
      ...(options.databaseUrl ? { serverUrl: options.databaseUrl } : {}),
      ...(options.keepData ? { keepData: true } : {}),
      onDatabaseRestart: (exit) => {
        view.recordRestart('postgres');
        options.log?.(`PostgreSQL died (${exit}); restarting it on the same data directory`);
      },
      ...(options.log ? { log: options.log } : {}),
    });
    cleanup.push(() => services.stop());
    const { postgres } = services;
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      await withAdminClient(services.adminUrl, (admin) => admin.query('CREATE DATABASE payments'));
      databaseUrl = (postgres as RunningPostgres).urlFor('payments');
    }
    const applied = await migrateToLatest(databaseUrl);
    options.log?.(
      applied.length ? `migrations applied: ${applied.join(', ')}` : 'schema is up to date',
    );

    const metrics: RunningMetricsView = await startMetricsView({
      view,
      ...(options.metricsPort === undefined ? {} : { port: options.metricsPort }),
    });
    cleanup.push(() => metrics.close());

    const port = options.port || (await freePort());
    const lane = await createLane({
      database: { url: databaseUrl },
      sqs: services.sqs,
      queues: {
        name: options.queue?.name ?? 'payments-charge-events',
        maxReceiveCount: options.queue?.maxReceiveCount ?? 3,
        visibilityTimeoutSeconds: options.queue?.visibilityTimeoutSeconds ?? 30,
      },
      apiKeys: options.apiKeys ?? 'local-dev-key:local-client',
      port,
      metricsViewUrl: metrics.url,
      environment: {
        ...(options.dropInherited ? { drop: options.dropInherited } : {}),
        ...(options.quiet ? { quiet: true } : {}),
        ...(options.env ? { extra: options.env } : {}),
      },
      ...(options.roleEnv ? { roleEnv: options.roleEnv } : {}),
      onLine: (line, service) => {
        // EMF documents are metrics, not logs: they go to the metrics view.
        if (view.observeLine(line) || line.includes('"_aws"')) return;
        options.onLine?.(line, service);
      },
      onRestart: (role, exit) => {
        view.recordRestart(role);
        options.log?.(`[${role}] exited (${exit}); restarted, as Lambda starts a new environment`);
      },
    });
    // The lane stops before the metrics view and the servers (cleanup runs in reverse).
    cleanup.push(() => lane.stop());
    const queues = lane.queues as ChargeEventQueues;

    const processes = {
      api: lane.supervise('api'),
      relay: lane.supervise('relay'),
      consumer: lane.supervise('consumer'),
    };
    await Promise.all(Object.values(processes).map((process) => process.ready()));

    return {
      apiUrl: `http://127.0.0.1:${port}`,
      metricsUrl: metrics.url,
      view,
      databaseUrl,
      pool: lane.pool,
      sqs: services.sqs.client,
      sqsEndpoint: services.sqs.endpoint,
      queues,
      processes,
      database: databaseHandle(postgres),
      env: lane.env,
      startInstance: async (role, extra = {}) => {
        const started = await lane.start(role, { PORT: '0', ...extra });
        return Object.assign(started.service, started.url ? { url: started.url } : {});
      },
      forgetDeduplication: lane.forgetDeduplication,
      queueDepth: lane.queueDepth,
      unpublishedEvents: lane.unpublishedEvents,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function databaseHandle(postgres: RunningPostgres | undefined): DatabaseHandle {
  const notOurs = async () => {
    throw new Error('the database is DATABASE_URL’s server, not one this stack runs');
  };
  return {
    embedded: Boolean(postgres),
    get restarts() {
      return postgres?.restarts ?? 0;
    },
    ...(postgres ? { dataDir: postgres.dataDir } : {}),
    kill: postgres ? () => postgres.kill() : notOurs,
    ready: postgres ? () => postgres.ready() : async () => {},
  };
}

/**
 * Ctrl-C (SIGINT to the whole process group, as a terminal sends it) and SIGTERM run `stop`
 * once, then exit with `exitCode`. Everything the stack started may already have received the
 * same signal and exited: stop() does not wait for exits that already happened.
 */
export function stopOnSignals(stop: () => Promise<void>, exitCode = 0): void {
  const onSignal = () => {
    void stop().finally(() => process.exit(exitCode));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
