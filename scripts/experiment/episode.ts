import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { ChargeClient, ChargeClientError } from '../../client/index.ts';
import { createPool } from '../../functions/store/database.ts';
import type { Random } from '../prove/random.ts';
import { classifyFailover, type FailoverClassification } from './classify.ts';
import { startDelayProxy } from './delay-proxy.ts';
import {
  copyDataDir,
  type DataTemplate,
  type PostgresServer,
  removeDataDir,
  replicationConninfo,
  startPostgresServer,
} from './postgres-servers.ts';
import { EXPERIMENT_API_KEY, EXPERIMENT_CLIENT_ID, type Region, startRegion } from './region.ts';

export type ReplicationMode = 'async' | 'sync';

export interface EpisodeOptions {
  template: DataTemplate;
  mode: ReplicationMode;
  random: Random;
  /** Prefix of this episode's idempotency keys. */
  label: string;
  /** Concurrent clients, each making one logical charge after another. */
  clients: number;
  /** Region A is killed at a uniformly random moment in this window after load starts (ms). */
  killWindowMs: [number, number];
  /** One-way delay of the link the WAL travels over (ms). */
  oneWayDelayMs: number;
  /** From the kill to region B promoted and receiving the traffic (ms). */
  detectMs: number;
  relayIntervalMs: number;
  inProgressWindowSeconds: number;
  /**
   * Test only: after the failover, make this many logical operations that completed in A
   * vanish from B (their charge and the idempotency records) and have their clients retry
   * there, as if those commits had not replicated and the answers had been lost. Each must
   * be counted as a double, or the harness cannot see doubles.
   */
  injectDoubles?: number;
}

export interface EpisodeResult {
  mode: ReplicationMode;
  classification: FailoverClassification;
  /** pg_stat_replication.flush_lag samples on A while it served (ms). */
  flushLagMs: number[];
  /** Largest WAL distance A was ahead of B's flush, sampled (bytes). */
  maxBehindBytes: number;
  /** sync_state values A reported for the standby. */
  syncStates: string[];
  /** Latency of charges answered 201 by A on their first attempt (ms). */
  firstAttemptLatencyMs: number[];
  /** Logical operations answered by B (they were in flight at the kill). */
  answeredByB: number;
  loadMs: number;
  killAtMs: number;
}

const STANDBY_NAME = 'regionb';
/** Every logical operation is retried (same key) until answered; a stuck run fails loudly. */
const EPISODE_DRAIN_TIMEOUT_MS = 120_000;

/**
 * One failover: region A (primary) and region B (its streaming replica, over a delayed link),
 * the real charge handler in front of each, clients charging through A; A is SIGKILLed at a
 * random moment, B is promoted after `detectMs`, the clients' retries land in B. Then A's
 * disk is read back to see what it had committed that B never received.
 */
export async function runFailoverEpisode(options: EpisodeOptions): Promise<EpisodeResult> {
  const cleanup: Array<() => Promise<void>> = [];
  try {
    return await runEpisode(options, cleanup);
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  }
}

async function runEpisode(
  options: EpisodeOptions,
  cleanup: Array<() => Promise<void>>,
): Promise<EpisodeResult> {
  const dirA = await copyDataDir(options.template, 'a');
  cleanup.push(() => removeDataDir(dirA));
  const dirB = await copyDataDir(options.template, 'b');
  cleanup.push(() => removeDataDir(dirB));

  const serverA = await startPostgresServer(dirA, {
    synchronousStandbyNames: options.mode === 'sync' ? STANDBY_NAME : '',
  });
  cleanup.push(async () => {
    serverA.kill();
    await serverA.exited;
  });
  const link = await startDelayProxy({
    targetPort: serverA.port,
    oneWayDelayMs: options.oneWayDelayMs,
  });
  cleanup.push(() => link.close());
  const serverB = await startPostgresServer(dirB, {
    primaryConninfo: replicationConninfo(link.port, STANDBY_NAME),
  });
  cleanup.push(() => serverB.stop());

  const observer = createPool(serverA.url, { max: 1 });
  cleanup.push(() => observer.end());
  await untilStreaming(observer, options.mode);

  const poolSize = options.clients + 4;
  const regionA = await startRegion({
    name: 'A',
    databaseUrl: serverA.url,
    inProgressWindowSeconds: options.inProgressWindowSeconds,
    relayIntervalMs: options.relayIntervalMs,
    poolSize,
  });
  cleanup.push(() => regionA.close());
  const regionB = await startRegion({
    name: 'B',
    databaseUrl: serverB.url,
    inProgressWindowSeconds: options.inProgressWindowSeconds,
    relayIntervalMs: 0,
    poolSize,
  });
  cleanup.push(() => regionB.close());

  // Anycast: every attempt goes to whichever region currently takes traffic.
  let serving: Region = regionA;
  const firstAttemptLatencyMs: number[] = [];
  const sampler = sampleReplication(observer);

  const acknowledged = new Map<string, string[]>();
  let accepting = true;
  // Set when the episode gives up (a stuck drain, a refused charge): every loop then stops.
  let abandoned = false;
  cleanup.push(async () => {
    abandoned = true;
  });
  let answeredByB = 0;
  const loadStartedAt = performance.now();
  const clientLoops = Array.from({ length: options.clients }, async (_, index) => {
    let region: Region = regionA;
    const routedFetch: typeof fetch = async (input, init) => {
      region = serving;
      const url = new URL(String(input));
      const startedAt = performance.now();
      const response = await fetch(`${region.baseUrl}${url.pathname}`, init);
      if (response.status === 201 && region === regionA) {
        firstAttemptLatencyMs.push(performance.now() - startedAt);
      }
      return response;
    };
    const client = new ChargeClient({
      baseUrl: 'http://charges.global.invalid',
      apiKey: EXPERIMENT_API_KEY,
      maxAttempts: 1_000,
      baseDelayMs: 20,
      capDelayMs: 250,
      perAttemptTimeoutMs: 5_000,
      deadlineMs: EPISODE_DRAIN_TIMEOUT_MS,
      random: () => options.random.next(),
      fetch: routedFetch,
    });
    for (let n = 0; accepting; n++) {
      const key = `${options.label}-c${index}-${n}`;
      const input = {
        amount: 100 + options.random.int(10_000),
        currency: 'EUR',
        customerId: `customer_${index}`,
      };
      acknowledged.set(key, []);
      const chargeId = await chargeUntilAnswered(client, input, key, () => !abandoned);
      if (chargeId === undefined) return;
      acknowledged.get(key)?.push(chargeId);
      if (region === regionB) answeredByB++;
    }
  });

  const [minKill, maxKill] = options.killWindowMs;
  const killAtMs = minKill + options.random.next() * (maxKill - minKill);
  await sleep(killAtMs);
  // Region A is lost: its database server, its API and its network at the same instant.
  accepting = false;
  serverA.kill();
  void link.cut();
  regionA.fail();
  const lag = await sampler.stop();
  await serverA.exited;

  await sleep(options.detectMs);
  const promoted = createPool(serverB.url, { max: 2 });
  cleanup.push(() => promoted.end());
  await promoted.query('SELECT pg_promote(true, 60)');
  serving = regionB;

  await withTimeout(Promise.all(clientLoops), EPISODE_DRAIN_TIMEOUT_MS, 'clients did not finish');
  const loadMs = performance.now() - loadStartedAt;

  if (options.injectDoubles) {
    await injectLostReplication(promoted, regionB, acknowledged, options.injectDoubles);
  }

  const oldPrimary = await chargesOnDisk(dirA);
  const promotedCharges = new Map<string, string[]>();
  for (const [key, id] of await chargesByKey(promoted)) {
    promotedCharges.set(key, [...(promotedCharges.get(key) ?? []), id]);
  }
  return {
    mode: options.mode,
    classification: classifyFailover({
      acknowledged,
      oldPrimary: new Map(oldPrimary),
      promoted: promotedCharges,
      publishedByOldPrimary: regionA.publishedChargeIds,
    }),
    flushLagMs: lag.flushLagMs,
    maxBehindBytes: lag.maxBehindBytes,
    syncStates: lag.syncStates,
    firstAttemptLatencyMs,
    answeredByB,
    loadMs,
    killAtMs,
  };
}

type ChargeInput = { amount: number; currency: string; customerId: string };

/**
 * A client that keeps its key: a thrown ChargeClientError only means "retry later".
 * @returns the charge id, or undefined when told to stop first
 */
async function chargeUntilAnswered(
  client: ChargeClient,
  input: ChargeInput,
  idempotencyKey: string,
  keepTrying: () => boolean,
): Promise<string | undefined> {
  while (keepTrying()) {
    try {
      const result = await client.createCharge(input, { idempotencyKey });
      if (!result.ok) {
        throw new Error(
          `charge ${idempotencyKey} refused: ${result.status} ${JSON.stringify(result.body)}`,
        );
      }
      return (result.body as { id: string }).id;
    } catch (error) {
      if (!(error instanceof ChargeClientError)) throw error;
      await sleep(50);
    }
  }
  return undefined;
}

async function untilStreaming(observer: pg.Pool, mode: ReplicationMode): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const { rows } = await observer.query<{ state: string; sync_state: string }>(
      'SELECT state, sync_state FROM pg_stat_replication WHERE application_name = $1',
      [STANDBY_NAME],
    );
    const row = rows[0];
    if (row?.state === 'streaming' && (mode === 'async' || row.sync_state === 'sync')) return;
    await sleep(20);
  }
  throw new Error(`the standby did not start streaming (${mode})`);
}

function sampleReplication(observer: pg.Pool) {
  const flushLagMs: number[] = [];
  const syncStates = new Set<string>();
  let maxBehindBytes = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { rows } = await observer.query<{
          flush_lag_ms: number | null;
          behind: string | null;
          sync_state: string;
        }>(
          `SELECT extract(epoch FROM flush_lag) * 1000 AS flush_lag_ms,
                  pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn)::text AS behind, sync_state
             FROM pg_stat_replication WHERE application_name = $1`,
          [STANDBY_NAME],
        );
        const row = rows[0];
        if (row) {
          if (row.flush_lag_ms !== null) flushLagMs.push(Number(row.flush_lag_ms));
          maxBehindBytes = Math.max(maxBehindBytes, Number(row.behind ?? 0));
          syncStates.add(row.sync_state);
        }
      } catch {
        // A is gone.
        return;
      }
      await sleep(20);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { flushLagMs, maxBehindBytes, syncStates: [...syncStates] };
    },
  };
}

async function chargesByKey(db: pg.Pool): Promise<Array<[string, string]>> {
  const { rows } = await db.query<{ idempotency_key: string; id: string }>(
    'SELECT idempotency_key, id FROM charges WHERE client_id = $1',
    [EXPERIMENT_CLIENT_ID],
  );
  return rows.map((row) => [row.idempotency_key, row.id]);
}

/** Restarts the killed primary's data directory on its own (crash recovery) and reads it. */
async function chargesOnDisk(dataDir: string): Promise<Array<[string, string]>> {
  const server: PostgresServer = await startPostgresServer(dataDir);
  const db = createPool(server.url, { max: 1 });
  try {
    return await chargesByKey(db);
  } finally {
    await db.end();
    await server.stop();
  }
}

async function injectLostReplication(
  promoted: pg.Pool,
  regionB: Region,
  acknowledged: Map<string, string[]>,
  count: number,
): Promise<void> {
  const victims = [...acknowledged.entries()].filter(([, ids]) => ids.length === 1).slice(0, count);
  await promoted.query('DELETE FROM idempotency_records');
  const client = new ChargeClient({
    baseUrl: regionB.baseUrl,
    apiKey: EXPERIMENT_API_KEY,
    maxAttempts: 20,
    baseDelayMs: 20,
  });
  for (const [key, ids] of victims) {
    await promoted.query(
      `WITH gone AS (DELETE FROM charges WHERE client_id = $1 AND idempotency_key = $2 RETURNING id)
       DELETE FROM outbox WHERE payload->>'chargeId' IN (SELECT id::text FROM gone)`,
      [EXPERIMENT_CLIENT_ID, key],
    );
    const result = await client.createCharge(
      { amount: 100, currency: 'EUR', customerId: 'customer_injected' },
      { idempotencyKey: key },
    );
    ids.push((result.body as { id: string }).id);
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
