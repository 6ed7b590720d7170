import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import { migrateToLatest } from '../../functions/migrate/run-migrations.ts';
import { createPool } from '../../functions/store/database.ts';
import { type ChildService, startChild } from '../local/child-process.ts';
import {
  databaseUrlOn,
  freePort,
  startEmbeddedPostgres,
  withAdminClient,
} from '../local/embedded-postgres.ts';
import { MetricsRegistry } from '../local/emf-metrics.ts';
import {
  type ChargeEventQueues,
  createChargeEventQueues,
  LOCAL_AWS_ENV,
  type SqsEndpoint,
  sqsClientFor,
  startSqsEndpoint,
} from '../local/sqs.ts';

export const BENCH_API_KEY = 'bench-key';
export const BENCH_CLIENT_ID = 'bench-client';

export interface BenchDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
}

export interface BenchProcess {
  service: ChildService;
  metrics: MetricsRegistry;
}

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * The pieces of the local stack the benchmark runs on: one PostgreSQL server (embedded, or
 * DATABASE_URL's) with a migrated template from which each phase gets a fresh database, one
 * SQS endpoint, and the real API, relay and consumer processes. `stop()` ends every process
 * it started (by its own handle), drops its databases and stops what it embedded.
 */
export class BenchStack {
  readonly adminUrl: string;
  readonly endpoint: SqsEndpoint;
  readonly sqs: SQSClient;
  readonly #stopPostgres: () => Promise<void>;
  readonly #template: string;
  readonly #databases: BenchDatabase[] = [];
  readonly #children: ChildService[] = [];
  readonly #redis: RedisServer[] = [];
  readonly #log: (line: string) => void;

  private constructor(
    adminUrl: string,
    stopPostgres: () => Promise<void>,
    endpoint: SqsEndpoint,
    template: string,
    log: (line: string) => void,
  ) {
    this.adminUrl = adminUrl;
    this.#stopPostgres = stopPostgres;
    this.endpoint = endpoint;
    this.sqs = sqsClientFor(endpoint.endpoint);
    this.#template = template;
    this.#log = log;
  }

  static async start(log: (line: string) => void): Promise<BenchStack> {
    let adminUrl = process.env.DATABASE_URL;
    let stopPostgres = async () => {};
    if (!adminUrl) {
      const embedded = await startEmbeddedPostgres();
      adminUrl = embedded.adminUrl;
      stopPostgres = () => embedded.stop();
    }
    const template = `bench_template_${randomBytes(4).toString('hex')}`;
    await withAdminClient(adminUrl, (admin) => admin.query(`CREATE DATABASE ${template}`));
    await migrateToLatest(databaseUrlOn(adminUrl, template));
    const endpoint = await startSqsEndpoint();
    return new BenchStack(adminUrl, stopPostgres, endpoint, template, log);
  }

  /** A freshly migrated database of its own. */
  async createDatabase(label: string): Promise<BenchDatabase> {
    const name = `bench_${label}_${randomBytes(4).toString('hex')}`;
    await withAdminClient(this.adminUrl, (admin) =>
      admin.query(`CREATE DATABASE ${name} TEMPLATE ${this.#template}`),
    );
    const url = databaseUrlOn(this.adminUrl, name);
    const pool = createPool(url, { max: 4 });
    pool.on('error', () => {});
    const database = { name, url, pool };
    this.#databases.push(database);
    return database;
  }

  createQueues(label: string): Promise<ChargeEventQueues> {
    return createChargeEventQueues(this.sqs, {
      name: `bench-${label}-${randomBytes(4).toString('hex')}`,
    });
  }

  #env(databaseUrl: string, extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...LOCAL_AWS_ENV,
      AWS_ENDPOINT_URL: this.endpoint.endpoint,
      DATABASE_URL: databaseUrl,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      LOCAL_API_KEYS: `${BENCH_API_KEY}:${BENCH_CLIENT_ID}`,
      PORT: '0',
    };
    // Nothing inherited may switch a tier on or change the rates being measured.
    for (const name of [
      'REDIS_URL',
      'FAILPOINTS',
      'DB_POOL_MAX',
      'RELAY_MAX_EVENTS_PER_SECOND',
      'LOCAL_RELAY_INTERVAL_MS',
      'LOCAL_CONSUMER_POLLERS',
      'NODE_OPTIONS',
    ]) {
      delete env[name];
    }
    return { ...env, ...extra };
  }

  async #start(
    script: string,
    name: string,
    databaseUrl: string,
    extra: Record<string, string>,
  ): Promise<BenchProcess & { ready: Record<string, unknown> }> {
    const metrics = new MetricsRegistry();
    const service = startChild(script, {
      name,
      env: this.#env(databaseUrl, extra),
      onLine: (line) => {
        if (!metrics.observeLine(line) && !line.startsWith('{')) this.#log(`[${name}] ${line}`);
      },
    });
    this.#children.push(service);
    const ready = await service.ready;
    return { service, metrics, ready };
  }

  async startApi(
    databaseUrl: string,
    extra: Record<string, string> = {},
  ): Promise<BenchProcess & { url: string }> {
    const started = await this.#start('scripts/local/api-server.ts', 'api', databaseUrl, extra);
    return { ...started, url: String(started.ready.listening) };
  }

  startRelay(
    databaseUrl: string,
    queues: ChargeEventQueues,
    extra: Record<string, string> = {},
  ): Promise<BenchProcess> {
    return this.#start('scripts/local/relay-process.ts', 'relay', databaseUrl, {
      QUEUE_URL: queues.queueUrl,
      DLQ_URL: queues.deadLetterQueueUrl,
      ...extra,
    });
  }

  startConsumer(
    databaseUrl: string,
    queues: ChargeEventQueues,
    extra: Record<string, string> = {},
  ): Promise<BenchProcess> {
    return this.#start('scripts/local/consumer-process.ts', 'consumer', databaseUrl, {
      QUEUE_URL: queues.queueUrl,
      DLQ_URL: queues.deadLetterQueueUrl,
      ...extra,
    });
  }

  /**
   * A Redis server of our own (no persistence) on a free port, or the reason there is none.
   */
  async startRedis(): Promise<RedisServer | { unavailable: string }> {
    const port = await freePort();
    let child: ChildProcess;
    try {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } catch (error) {
      return { unavailable: `redis-server could not be started: ${String(error)}` };
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const ready = await new Promise<true | string>((resolve) => {
      const timer = setTimeout(() => resolve('redis-server not ready within 10 s'), 10_000);
      child.once('error', (error) => {
        clearTimeout(timer);
        resolve(`redis-server could not be started: ${error.message}`);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(`redis-server exited (${code})`);
      });
      if (child.stdout) {
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (line.includes('Ready to accept connections')) {
            clearTimeout(timer);
            resolve(true);
          }
        });
      }
      child.stderr?.resume();
    });
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    };
    if (ready !== true) {
      await stop();
      return { unavailable: ready };
    }
    const server = { url: `redis://127.0.0.1:${port}`, stop };
    this.#redis.push(server);
    return server;
  }

  /** Stops one process started by this stack and forgets it. */
  async stopProcess(process: BenchProcess): Promise<void> {
    await process.service.stop();
    const index = this.#children.indexOf(process.service);
    if (index >= 0) this.#children.splice(index, 1);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#children.map((child) => child.stop().catch(() => {})));
    await Promise.all(this.#redis.map((redis) => redis.stop().catch(() => {})));
    for (const database of this.#databases) await database.pool.end().catch(() => {});
    await this.endpoint.stop().catch(() => {});
    await withAdminClient(this.adminUrl, async (admin) => {
      for (const name of [...this.#databases.map((d) => d.name), this.#template]) {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      }
    }).catch(() => {});
    await this.#stopPostgres();
  }
}
