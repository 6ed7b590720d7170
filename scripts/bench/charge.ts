import { mkdir } from 'node:fs/promises';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { type ProfileSummary, summariseProfile } from './cpu-profile.ts';
import { type CpuSplit, postmasterPid, startCpuMeasurement } from './cpu-usage.ts';
import {
  type CallResult,
  type ChargeCall,
  ChargeClient,
  closedLoop,
  newChargeCall,
  openLoop,
} from './http-load.ts';
import { measurePgLimit } from './pg-limit.ts';
import { BENCH_API_KEY, type BenchStack, type RedisServer } from './stack.ts';
import { percentile } from './stats.ts';

export interface SweepPoint {
  concurrency: number;
  pgLimitTps: number;
  chargeTps: number;
  ratio: number;
  /** Every round's figures, to show the noise. */
  pgRoundsTps: number[];
  chargeRoundsTps: number[];
  chargeP50MsAtSaturation: number;
  /** CPU ms per charge by place, in the best round of each (Linux /proc; null elsewhere). */
  pgLoopCpu: CpuSplit | undefined;
  httpCpu: CpuSplit | undefined;
}

export interface ChargeResult {
  best: SweepPoint;
  sweep: SweepPoint[];
  latency: {
    rate: number;
    requests: number;
    p50Ms: number;
    p99Ms: number;
    errors: number;
    /** The p99 of each of five consecutive blocks: one stall shows in one block only. */
    blockP99Ms: number[];
    cpu: CpuSplit;
    sendLagP99Ms: number;
    sendLagMaxMs: number;
    /** The slowest answer in each 250 ms of the run. */
    worstPerWindowMs: number[];
  };
  profile: ProfileSummary | undefined;
}

const created = (result: CallResult) => result.status === 201 && !result.replayed;

/**
 * Saturation: the pg loop (three statements per charge, `c` connections) and closed-loop
 * HTTP at concurrency `c` against the real API process (pool size `c`), alternating for
 * `rounds` rounds so that noise from other work on the machine hits both; the best round of
 * each counts. Then open-loop load at half the best HTTP rate for the latency percentiles.
 */
export async function measureCharge(
  stack: BenchStack,
  options: {
    concurrency: number[];
    rounds: number;
    warmupMs: number;
    durationMs: number;
    latencySeconds: number;
    profileDir: string | undefined;
  },
  log: (line: string) => void,
): Promise<ChargeResult> {
  const db = await stack.createDatabase('charge');
  const profileDir = options.profileDir ? resolve(options.profileDir) : undefined;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  const api = await stack.startApi(db.url, {
    DB_POOL_MAX: String(Math.max(...options.concurrency)),
    ...profileEnv(profileDir),
  });
  const client = new ChargeClient(api.url, BENCH_API_KEY);
  const sweep: SweepPoint[] = [];
  const cores = cpus().length;
  const pids = { api: api.service.child.pid, postmaster: await postmasterPid(db.pool) };
  try {
    for (const concurrency of options.concurrency) {
      const pgRoundsTps: number[] = [];
      const chargeRoundsTps: number[] = [];
      let chargeP50MsAtSaturation = Number.NaN;
      let pgLoopCpu: CpuSplit | undefined;
      let httpCpu: CpuSplit | undefined;
      for (let round = 0; round < options.rounds; round++) {
        const pgCpu = startCpuMeasurement(pids);
        const pg = await measurePgLimit({
          databaseUrl: db.url,
          connections: concurrency,
          warmupMs: options.warmupMs,
          durationMs: options.durationMs,
        });
        if (pg.tps >= Math.max(0, ...pgRoundsTps)) pgLoopCpu = pgCpu(pg.total, cores);
        pgRoundsTps.push(pg.tps);
        const httpCpuMeasurement = startCpuMeasurement(pids);
        const http = await closedLoop({
          concurrency,
          warmupMs: options.warmupMs,
          durationMs: options.durationMs,
          send: () => client.post(newChargeCall()),
          expect: created,
        });
        if (http.errors > 0) {
          throw new Error(`charge saturation: ${http.errors} errors, first: ${http.firstError}`);
        }
        if (http.rps >= Math.max(0, ...chargeRoundsTps)) {
          chargeP50MsAtSaturation = percentile(http.latenciesMs, 50);
          httpCpu = httpCpuMeasurement(http.total, cores);
        }
        chargeRoundsTps.push(http.rps);
        log(
          `  c=${concurrency} round ${round + 1}: pg limit ${pg.tps.toFixed(0)}/s, HTTP ${http.rps.toFixed(0)}/s`,
        );
      }
      const pgLimitTps = Math.max(...pgRoundsTps);
      const chargeTps = Math.max(...chargeRoundsTps);
      sweep.push({
        concurrency,
        pgLimitTps,
        chargeTps,
        ratio: chargeTps / pgLimitTps,
        pgRoundsTps,
        chargeRoundsTps,
        chargeP50MsAtSaturation,
        pgLoopCpu,
        httpCpu,
      });
    }
    const best = sweep.reduce((a, b) => (b.chargeTps > a.chargeTps ? b : a));
    const rate = best.chargeTps / 2;
    const requests = Math.max(20, Math.round(rate * options.latencySeconds));
    log(
      `  open loop at ${rate.toFixed(0)}/s (50 % of ${best.chargeTps.toFixed(0)}/s), ${requests} requests`,
    );
    const latencyCpu = startCpuMeasurement(pids);
    const paced = await openLoop({
      ratePerSecond: rate,
      total: requests,
      send: () => client.post(newChargeCall()),
      expect: created,
    });
    const cpu = latencyCpu(paced.total, cores);
    const blockSize = Math.ceil(paced.latenciesMs.length / 5);
    const blockP99Ms = Array.from({ length: 5 }, (_, block) =>
      percentile(paced.latenciesMs.slice(block * blockSize, (block + 1) * blockSize), 99),
    ).filter(Number.isFinite);
    const result: ChargeResult = {
      best,
      sweep,
      latency: {
        rate,
        requests,
        p50Ms: percentile(paced.latenciesMs, 50),
        p99Ms: percentile(paced.latenciesMs, 99),
        errors: paced.errors,
        blockP99Ms,
        cpu,
        sendLagP99Ms: paced.sendLagP99Ms ?? 0,
        sendLagMaxMs: paced.sendLagMaxMs ?? 0,
        worstPerWindowMs: paced.worstPerWindowMs ?? [],
      },
      profile: undefined,
    };
    client.close();
    await stack.stopProcess(api);
    if (profileDir) result.profile = await summariseProfile(profileDir, api.service.child.pid);
    return result;
  } finally {
    client.close();
    await stack.stopProcess(api);
  }
}

/** Environment that makes a Node process write a CPU profile into `dir` when it exits. */
export function profileEnv(dir: string | undefined): Record<string, string> {
  return dir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${resolve(dir)}` } : {};
}

export interface ReplayResult {
  profiles: { postgres?: ProfileSummary; redis?: ProfileSummary };
  postgres: { p50Ms: number; p99Ms: number; requests: number };
  /** GET /health on the same API and schedule: gateway + invoke + HTTP with no idempotency. */
  floor: { p50Ms: number; p99Ms: number; requests: number };
  redis: { p50Ms: number; p99Ms: number; requests: number; cacheHits: number } | undefined;
  redisNote: string | undefined;
}

/**
 * Replays of completed keys, open-loop at `rate`: one API process with Postgres alone, one
 * with the Redis tier (REDIS_URL, a redis-server of our own), on the same database, measured
 * in alternating blocks so that background noise falls on both alike.
 */
export async function measureReplay(
  stack: BenchStack,
  options: {
    keys: number;
    requests: number;
    rate: number;
    blocks?: number;
    profileDir: string | undefined;
  },
  log: (line: string) => void,
): Promise<ReplayResult> {
  const db = await stack.createDatabase('replay');
  const redis: RedisServer | { unavailable: string } = await stack.startRedis();
  const tiers: {
    name: 'postgres' | 'redis';
    url: string;
    client: ChargeClient;
    keys: ChargeCall[];
  }[] = [];
  const pgApi = await stack.startApi(db.url, profileEnv(options.profileDir));
  tiers.push({
    name: 'postgres',
    url: pgApi.url,
    client: new ChargeClient(pgApi.url, BENCH_API_KEY, 32),
    keys: [],
  });
  let redisApi: Awaited<ReturnType<BenchStack['startApi']>> | undefined;
  let redisNote: string | undefined;
  if ('url' in redis) {
    redisApi = await stack.startApi(db.url, {
      IDEMPOTENCY_CACHE: 'redis',
      REDIS_URL: redis.url,
      ...profileEnv(options.profileDir),
    });
    tiers.push({
      name: 'redis',
      url: redisApi.url,
      client: new ChargeClient(redisApi.url, BENCH_API_KEY, 32),
      keys: [],
    });
  } else {
    redisNote = redis.unavailable;
  }
  const replayed = (result: CallResult) => result.status === 201 && result.replayed;
  const latencies = { postgres: [] as number[], redis: [] as number[], floor: [] as number[] };
  const pgClient = tiers[0]?.client as ChargeClient;
  try {
    for (const tier of tiers) {
      // Each tier's own keys, created through it (the Redis tier remembers what it completes).
      for (let i = 0; i < options.keys; i++) {
        const call = newChargeCall();
        const result = await tier.client.post(call);
        if (result.status !== 201) throw new Error(`replay setup: ${result.status} ${result.body}`);
        tier.keys.push(call);
      }
      // One warm pass: JIT, connections, and for Redis any refill.
      const warm = await openLoop({
        ratePerSecond: options.rate,
        total: tier.keys.length,
        send: (i) => tier.client.post(tier.keys[i % tier.keys.length] as ChargeCall),
        expect: replayed,
      });
      if (warm.errors > 0) throw new Error(`replay warm-up (${tier.name}): ${warm.firstError}`);
    }
    const blocks = options.blocks ?? 4;
    const perBlock = Math.max(1, Math.round(options.requests / blocks));
    for (let block = 0; block < blocks; block++) {
      for (const tier of tiers) {
        const offset = block * perBlock;
        const summary = await openLoop({
          ratePerSecond: options.rate,
          total: perBlock,
          send: (i) => tier.client.post(tier.keys[(offset + i) % tier.keys.length] as ChargeCall),
          expect: replayed,
        });
        if (summary.errors > 0) throw new Error(`replay (${tier.name}): ${summary.firstError}`);
        latencies[tier.name].push(...summary.latenciesMs);
      }
      const floor = await openLoop({
        ratePerSecond: options.rate,
        total: perBlock,
        send: () => pgClient.health(),
        expect: (result) => result.status === 200,
      });
      latencies.floor.push(...floor.latenciesMs);
    }
  } finally {
    for (const tier of tiers) tier.client.close();
    await stack.stopProcess(pgApi);
    if (redisApi) await stack.stopProcess(redisApi);
    if ('url' in redis) await redis.stop();
  }
  const cacheHits = redisApi?.metrics.value('idempotency_cache_total', { result: 'hit' }) ?? 0;
  if (redisApi && cacheHits === 0) {
    redisNote =
      'the API answered every replay from Postgres: IDEMPOTENCY_CACHE=redis support is not active';
  }
  const stats = (values: number[]) => ({
    p50Ms: percentile(values, 50),
    p99Ms: percentile(values, 99),
    requests: values.length,
  });
  log(
    `  replay: ${latencies.postgres.length} per tier at ${options.rate}/s${redisApi ? `, ${cacheHits} Redis hits` : ''}`,
  );
  const profiles: ReplayResult['profiles'] = {};
  if (options.profileDir) {
    const dir = resolve(options.profileDir);
    profiles.postgres = await summariseProfile(dir, pgApi.service.child.pid);
    if (redisApi) profiles.redis = await summariseProfile(dir, redisApi.service.child.pid);
  }
  return {
    profiles,
    postgres: stats(latencies.postgres),
    floor: stats(latencies.floor),
    redis: redisApi && cacheHits > 0 ? { ...stats(latencies.redis), cacheHits } : undefined,
    redisNote,
  };
}
