/**
 * The stack the fault schedules run against: the clients, the settings that make crashes and
 * takeovers quick enough to run a hundred schedules, and the handles the runner needs
 * (database pool, processes to start, Redis to flush).
 */
import { createClient } from '@redis/client';
import type pg from 'pg';
import type { ChildService } from '../local/child-process.ts';
import type { LocalStack, LocalStackOptions, Role } from '../local/stack/stack.ts';

export interface ScheduleEnvironment {
  apiUrl: string;
  clients: { apiKey: string; clientId: string }[];
  pool: pg.Pool;
  startInstance(role: Role, env?: Record<string, string>): Promise<ChildService & { url?: string }>;
  /** Present when the API runs with the Redis hot tier: drops every key. */
  flushRedis?: () => Promise<void>;
  /** Current value of a server metric (what the metrics view shows), when available. */
  metric?: (name: string) => number;
  /** Present when the stack runs its own PostgreSQL: SIGKILLs it (the stack restarts it). */
  killDatabase?: () => Promise<void>;
  /** Resolves once the database accepts connections again. */
  databaseReady?: () => Promise<void>;
}

/** Two clients, so a key can be reused across clients. */
/** The relay lease of a schedule stack: a crashed relay is replaced within a second. */
export const SCHEDULE_RELAY_LEASE_MS = 1_000;

export const SCHEDULE_CLIENTS = [
  { apiKey: 'schedule-key-a', clientId: 'schedule-client-a' },
  { apiKey: 'schedule-key-b', clientId: 'schedule-client-b' },
];

/**
 * How the stack for schedules is tuned so that each schedule takes well under a second: a
 * crashed claim is taken over after 1 s, so is a crashed relay's lease, a message a crashed
 * consumer held comes back after 1 s, and repeated consumer crashes cannot push a message
 * into the DLQ (10 receives).
 */
export function scheduleStackOptions(extraEnv: Record<string, string> = {}): LocalStackOptions {
  return {
    apiKeys: SCHEDULE_CLIENTS.map((client) => `${client.apiKey}:${client.clientId}`).join(','),
    env: {
      IDEMPOTENCY_IN_PROGRESS_SECONDS: '1',
      LOCAL_RELAY_INTERVAL_MS: '50',
      // A crashed relay's lease lapses after 1 s and a standby takes over.
      RELAY_LEASE_TTL_MS: String(SCHEDULE_RELAY_LEASE_MS),
      ...extraEnv,
    },
    roleEnv: { consumer: { LOCAL_CONSUMER_POLLERS: '1' } },
    quiet: true,
    // Crash points are armed per instance, never inherited.
    dropInherited: ['FAILPOINTS'],
    queue: { visibilityTimeoutSeconds: 1, maxReceiveCount: 10 },
  };
}

/** The schedule environment of a stack started with {@link scheduleStackOptions}. */
export async function scheduleEnvironmentOf(
  stack: LocalStack,
  redisUrl: string | undefined,
): Promise<ScheduleEnvironment & { close(): Promise<void> }> {
  let redis: ReturnType<typeof createClient> | undefined;
  if (redisUrl) {
    redis = createClient({ url: redisUrl });
    redis.on('error', () => {});
    await redis.connect();
  }
  return {
    apiUrl: stack.apiUrl,
    clients: SCHEDULE_CLIENTS,
    pool: stack.pool,
    startInstance: (role, env) => stack.startInstance(role, env),
    metric: (name) => stack.view.registry.value(name),
    ...(stack.database.embedded
      ? { killDatabase: () => stack.database.kill(), databaseReady: () => stack.database.ready() }
      : {}),
    ...(redis
      ? {
          flushRedis: async () => {
            await redis?.flushAll();
          },
        }
      : {}),
    close: async () => {
      await redis?.close();
    },
  };
}
