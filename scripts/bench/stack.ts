import { randomBytes } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ChildService } from '../local/child-process.ts';
import { withAdminClient } from '../local/embedded-postgres.ts';
import { type ChargeEventQueues, createChargeEventQueues } from '../local/sqs.ts';
import { processEnvironment, TUNING_VARIABLES } from '../local/stack/environment.ts';
import { type Role, type StartedProcess, startProcess } from '../local/stack/processes.ts';
import { type RedisServer, startRedisServer } from '../local/stack/redis-server.ts';
import { type StackServices, startStackServices } from '../local/stack/stack.ts';
import {
  buildTemplateDatabase,
  type CopiedDatabase,
  copyTemplateDatabase,
} from '../local/stack/template-database.ts';

export type { RedisServer } from '../local/stack/redis-server.ts';

export const BENCH_API_KEY = 'bench-key';
export const BENCH_CLIENT_ID = 'bench-client';

export type BenchDatabase = CopiedDatabase;
export type BenchProcess = StartedProcess;

/**
 * The local stack (scripts/local/stack) as the benchmark uses it: one PostgreSQL server
 * (embedded, or DATABASE_URL's) with a migrated template from which each phase gets a fresh
 * database, one SQS endpoint, and the real API, relay and consumer processes started one at a
 * time, with nothing inherited that would change what is measured. `stop()` ends every process
 * it started (by its own handle), drops its databases and stops what it embedded.
 */
export class BenchStack {
  readonly adminUrl: string;
  readonly sqs: SQSClient;
  readonly #services: StackServices;
  readonly #template: string;
  readonly #databases: BenchDatabase[] = [];
  readonly #children: ChildService[] = [];
  readonly #redis: RedisServer[] = [];
  readonly #log: (line: string) => void;

  private constructor(services: StackServices, template: string, log: (line: string) => void) {
    this.#services = services;
    this.adminUrl = services.adminUrl;
    this.sqs = services.sqs.client;
    this.#template = template;
    this.#log = log;
  }

  static async start(log: (line: string) => void): Promise<BenchStack> {
    const serverUrl = process.env.DATABASE_URL;
    const services = await startStackServices(serverUrl ? { serverUrl } : {});
    const template = `bench_template_${randomBytes(4).toString('hex')}`;
    try {
      await buildTemplateDatabase(services.adminUrl, template);
    } catch (error) {
      await services.stop();
      throw error;
    }
    return new BenchStack(services, template, log);
  }

  /** A freshly migrated database of its own. */
  async createDatabase(label: string): Promise<BenchDatabase> {
    const database = await copyTemplateDatabase(this.adminUrl, this.#template, {
      prefix: `bench_${label}`,
    });
    this.#databases.push(database);
    return database;
  }

  createQueues(label: string): Promise<ChargeEventQueues> {
    return createChargeEventQueues(this.sqs, {
      name: `bench-${label}-${randomBytes(4).toString('hex')}`,
    });
  }

  async #start(
    role: Role,
    databaseUrl: string,
    queues: ChargeEventQueues | undefined,
    extra: Record<string, string>,
  ): Promise<BenchProcess> {
    const env = processEnvironment(
      {
        databaseUrl,
        sqsEndpoint: this.#services.sqs.endpoint,
        apiKeys: `${BENCH_API_KEY}:${BENCH_CLIENT_ID}`,
        port: 0,
        ...(queues
          ? { queueUrl: queues.queueUrl, deadLetterQueueUrl: queues.deadLetterQueueUrl }
          : {}),
      },
      // Nothing inherited may switch a tier on or change the rates being measured.
      { drop: TUNING_VARIABLES, quiet: true, extra },
    );
    return startProcess(role, env, {
      onSpawn: (service) => this.#children.push(service),
      onLine: (line, name) => {
        if (!line.startsWith('{')) this.#log(`[${name}] ${line}`);
      },
    });
  }

  async startApi(
    databaseUrl: string,
    extra: Record<string, string> = {},
  ): Promise<BenchProcess & { url: string }> {
    const started = await this.#start('api', databaseUrl, undefined, extra);
    return { ...started, url: String(started.url) };
  }

  startRelay(
    databaseUrl: string,
    queues: ChargeEventQueues,
    extra: Record<string, string> = {},
  ): Promise<BenchProcess> {
    return this.#start('relay', databaseUrl, queues, extra);
  }

  startConsumer(
    databaseUrl: string,
    queues: ChargeEventQueues,
    extra: Record<string, string> = {},
  ): Promise<BenchProcess> {
    return this.#start('consumer', databaseUrl, queues, extra);
  }

  /** The stack's redis-server of its own, or the reason there is none. */
  async startRedis(): Promise<RedisServer | { unavailable: string }> {
    try {
      const server = await startRedisServer();
      this.#redis.push(server);
      return server;
    } catch (error) {
      return { unavailable: error instanceof Error ? error.message : String(error) };
    }
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
    for (const database of this.#databases) await database.drop().catch(() => {});
    await withAdminClient(this.adminUrl, (admin) =>
      admin.query(`DROP DATABASE IF EXISTS ${this.#template} WITH (FORCE)`),
    ).catch(() => {});
    await this.#services.stop();
  }
}
