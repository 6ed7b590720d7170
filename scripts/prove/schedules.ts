/**
 * Seeded randomized fault schedules (fast-check). Each schedule is a handful of charges with
 * faults drawn around them: duplicate submissions, same-key races, lost responses, key reuse
 * with a changed body, the same key from another client, a crash point (the charge Lambda
 * after its commit, the relay after publishing, the consumer after applying, each a real
 * SIGKILL through FAILPOINTS; or PostgreSQL itself SIGKILLed right after a charge was
 * answered, when the stack runs its own server) and, when the Redis hot tier is on, Redis
 * losing its keys. The
 * checker then verifies, from the answers and from PostgreSQL, that every logical operation
 * was charged once and applied to the ledger exactly once, that none was lost and that
 * nothing else was charged.
 *
 * A failing schedule is reported with fast-check's seed and path; `npm run prove --
 * --schedules N --seed S --path P` (or SCHEDULES_SEED/SCHEDULES_PATH in the test) replays it.
 * Crash timing across processes is not part of the seed: a crash point arms a process to die
 * at its next pass through that line, and the run asserts that each kind of crash fired.
 *
 * The schedule's shape and generator are in schedule-plan.ts, the stack it runs against in
 * schedule-environment.ts. This file stays over 400 lines because most of it is
 * createScheduleRunner: one closure over a run's state (the answers so far, the processes it
 * started, the crash it armed), whose steps share that state; cut apart, they would only hand
 * it to each other.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type pg from 'pg';
import {
  ChargeClient,
  ChargeClientError,
  type ChargeInput,
  type ChargeResult,
} from '../../client/index.ts';
import { OUTBOX_RELAY_LEASE } from '../../functions/relay/relay-settings.ts';
import { handOverLease } from '../../functions/store/relay-lease-store.ts';
import { createFaultProxy, type FaultProxy } from '../fault-proxy/fault-proxy.ts';
import type { ChildService } from '../local/child-process.ts';
import type { Role } from '../local/stack/stack.ts';
import { SCHEDULE_RELAY_LEASE_MS, type ScheduleEnvironment } from './schedule-environment.ts';
import {
  type CrashPoint,
  type ProcessCrash,
  type Schedule,
  scheduleArbitrary,
} from './schedule-plan.ts';

export interface ScheduleStats {
  schedules: number;
  logicalOps: number;
  requests: number;
  mismatches: number;
  lostResponses: number;
  redisFlushes: number;
  crashesArmed: Record<Exclude<CrashPoint, 'none'>, number>;
  crashesFired: Record<Exclude<CrashPoint, 'none'>, number>;
  /** Milliseconds each schedule took. */
  durationsMs: number[];
}

/** Runs schedules against one long-lived environment; create with {@link createScheduleRunner}. */
export interface ScheduleRunner {
  run(schedule: Schedule): Promise<void>;
  /** Waits for the pipeline to settle and checks every charge in the database. */
  finalCheck(timeoutMs?: number): Promise<void>;
  stats: ScheduleStats;
  close(): Promise<void>;
}

const FAILPOINT: Record<ProcessCrash, string> = {
  charge: 'charge.after-commit=crash',
  relay: 'relay.after-publish=crash',
  consumer: 'consumer.after-apply=crash',
};
const ROLE: Record<ProcessCrash, Role> = {
  charge: 'api',
  relay: 'relay',
  consumer: 'consumer',
};

export async function createScheduleRunner(env: ScheduleEnvironment): Promise<ScheduleRunner> {
  const tag = Date.now().toString(36);
  let executions = 0;
  const stats: ScheduleStats = {
    schedules: 0,
    logicalOps: 0,
    requests: 0,
    mismatches: 0,
    lostResponses: 0,
    redisFlushes: 0,
    crashesArmed: { charge: 0, relay: 0, consumer: 0, database: 0 },
    crashesFired: { charge: 0, relay: 0, consumer: 0, database: 0 },
    durationsMs: [],
  };
  const loseFirst = new Set<string>();
  const proxy: FaultProxy = await createFaultProxy({
    target: env.apiUrl,
    faults: {
      lostResponse: {
        match: (request) =>
          request.method === 'POST' &&
          loseFirst.delete(String(request.headers['idempotency-key'] ?? '')),
      },
    },
  });
  const clients = env.clients.map(
    (client) =>
      new ChargeClient({
        baseUrl: proxy.url,
        apiKey: client.apiKey,
        maxAttempts: 20,
        baseDelayMs: 20,
        capDelayMs: 500,
        perAttemptTimeoutMs: 5_000,
        deadlineMs: 20_000,
        // Waits are compressed (Retry-After: 1 of a 409 becomes 50 ms): the client decides
        // exactly as it would, the schedule just does not sit through the seconds.
        sleep: (ms) => sleep(Math.min(ms, 50)),
        fetch: (input, init) => {
          stats.requests += 1;
          return fetch(input, init);
        },
      }),
  );

  // Armed instances: each dies (SIGKILL) the first time it passes its failpoint.
  const armed = new Map<ProcessCrash, Promise<ChildService & { url?: string }>>();
  const arm = (crash: ProcessCrash) => {
    const existing = armed.get(crash);
    if (existing) return existing;
    stats.crashesArmed[crash] += 1;
    const leaseHolder = `schedule-armed-relay-${tag}-${stats.crashesArmed.relay}`;
    const started = env
      .startInstance(ROLE[crash], {
        FAILPOINTS: FAILPOINT[crash],
        // Only the lease holder publishes: the armed relay is handed the lease below.
        ...(crash === 'relay' ? { RELAY_LEASE_HOLDER: leaseHolder } : {}),
        // Win the race against the unarmed consumer for the next events.
        ...(crash === 'consumer' ? { LOCAL_CONSUMER_POLLERS: '4' } : {}),
      })
      .then(async (service) => {
        if (crash === 'relay')
          await handOverLease(env.pool, OUTBOX_RELAY_LEASE, leaseHolder, SCHEDULE_RELAY_LEASE_MS);
        return service;
      });
    armed.set(crash, started);
    started.then(
      (service) =>
        service.exited.then((code) => {
          if (code === 'SIGKILL') stats.crashesFired[crash] += 1;
          armed.delete(crash);
        }),
      () => armed.delete(crash),
    );
    return started;
  };

  const send = async (client: number, key: string, body: ChargeInput): Promise<ChargeResult> => {
    for (let round = 1; ; round++) {
      try {
        return await (clients[client] as ChargeClient).createCharge(body, { idempotencyKey: key });
      } catch (error) {
        if (!(error instanceof ChargeClientError) || round >= 3) throw error;
        // Outcome unknown, e.g. the database was down for every attempt: retry when it is back.
        await env.databaseReady?.();
        await sleep(200);
      }
    }
  };

  const run = async (schedule: Schedule): Promise<void> => {
    const startedAt = Date.now();
    try {
      await runOnce(schedule);
    } finally {
      stats.durationsMs.push(Date.now() - startedAt);
    }
  };

  const runOnce = async (schedule: Schedule): Promise<void> => {
    executions += 1;
    stats.schedules += 1;
    const prefix = `sch-${tag}-${executions}`;
    const crash = schedule.crash;
    const armedNow = crash === 'none' || crash === 'database' ? undefined : await arm(crash);
    let chargeCrashPending = crash === 'charge';
    let databaseCrashPending = crash === 'database' && Boolean(env.killDatabase);
    let redisFlushPending = schedule.redisKeyLoss && Boolean(env.flushRedis);
    /** client|key → the body that made the charge, and its id. */
    const logical = new Map<
      string,
      { body: ChargeInput; chargeId: string; client: number; key: string }
    >();
    const fail = (message: string): never => {
      throw new Error(`${message}\n  schedule: ${JSON.stringify(schedule)}`);
    };
    const idOf = (result: ChargeResult) => String((result.body as { id?: unknown })?.id ?? '');

    for (const op of schedule.ops) {
      const key = `${prefix}-k${op.keySlot}`;
      const slot = `${op.client}|${key}`;
      const body: ChargeInput = { amount: op.amount, currency: 'EUR', customerId: op.customer };
      const known = logical.get(slot);
      if (known && !sameBody(known.body, body)) {
        // Same client, same key, another body: refused, nothing charged.
        stats.mismatches += 1;
        const refused = await send(op.client, key, body);
        if (refused.status !== 422)
          fail(`${slot}: key reuse with another body answered ${refused.status}, not 422`);
        continue;
      }

      if (chargeCrashPending && armedNow?.url && !known) {
        chargeCrashPending = false;
        // The first attempt reaches an API armed to die right after its commit.
        const crashed = await fetch(`${armedNow.url}/charge`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': key,
            'x-api-key': env.clients[op.client]?.apiKey ?? '',
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        }).then(
          (response) => response.status,
          () => 'no answer' as const,
        );
        if (crashed !== 'no answer')
          fail(`${slot}: the armed API answered ${crashed} instead of dying`);
        await armedNow.exited;
        // An API takes the better part of a second to start: have the next one ready.
        void arm('charge').catch(() => {});
      }

      if (op.loseFirst) {
        loseFirst.add(key);
        stats.lostResponses += 1;
      }
      const results = await Promise.all(
        Array.from({ length: op.race }, () => send(op.client, key, body)),
      );
      loseFirst.delete(key);
      for (const result of results) {
        if (result.status !== 201) fail(`${slot}: answered ${result.status}, expected 201`);
      }
      const ids = new Set(results.map(idOf));
      if (known) ids.add(known.chargeId);
      if (ids.size !== 1) fail(`${slot}: one key, several charges: ${[...ids].join(', ')}`);
      const chargeId = [...ids][0] as string;
      if (!known) {
        logical.set(slot, { body, chargeId, client: op.client, key });
        stats.logicalOps += 1;
      }

      if (databaseCrashPending && env.killDatabase) {
        databaseCrashPending = false;
        // Right after the 201: the answer must survive the crash, and the duplicates, the
        // relay and the consumer run into the outage and must recover from it.
        stats.crashesArmed.database += 1;
        await env.killDatabase();
        stats.crashesFired.database += 1;
      }

      if (redisFlushPending && env.flushRedis) {
        redisFlushPending = false;
        await env.flushRedis();
        stats.redisFlushes += 1;
      }
      for (let i = 0; i < op.duplicates + (schedule.redisKeyLoss ? 1 : 0); i++) {
        const again = await send(op.client, key, body);
        if (again.status !== 201 || idOf(again) !== chargeId) {
          fail(
            `${slot}: duplicate answered ${again.status} ${idOf(again)}, expected 201 ${chargeId}`,
          );
        }
        if (!again.replayed) fail(`${slot}: duplicate not marked Idempotent-Replayed`);
      }
      if (op.mismatchAfter) {
        stats.mismatches += 1;
        const refused = await send(op.client, key, {
          ...body,
          amount: body.amount === 1 ? 2 : body.amount - 1,
        });
        if (refused.status !== 422)
          fail(`${slot}: changed body answered ${refused.status}, not 422`);
      }
    }

    // The ledger and the charges table: exactly the logical operations, each applied once.
    const expected = [...logical.values()];
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows } = await queryWhenUp(env)<{
        id: string;
        client_id: string;
        key: string;
        amount: string;
        debits: number;
      }>(
        `SELECT c.id, c.client_id, c.idempotency_key AS key, c.amount,
                (SELECT count(*) FROM ledger.postings p
                  WHERE p.charge_id = c.id AND p.direction = 'debit')::int AS debits
           FROM charges c WHERE c.idempotency_key LIKE $1`,
        [`${prefix}-%`],
      );
      if (rows.length !== expected.length) {
        fail(`expected ${expected.length} charges, found ${rows.length}: ${JSON.stringify(rows)}`);
      }
      for (const op of expected) {
        const clientId = env.clients[op.client]?.clientId;
        const row = rows.find((candidate) => candidate.id === op.chargeId);
        if (
          !row ||
          row.client_id !== clientId ||
          row.key !== op.key ||
          Number(row.amount) !== op.body.amount
        ) {
          fail(
            `charge ${op.chargeId} (${clientId} ${op.key}) missing or altered: ${JSON.stringify(row)}`,
          );
        }
      }
      const doubled = rows.filter((row) => row.debits > 1);
      if (doubled.length > 0) fail(`applied more than once: ${JSON.stringify(doubled)}`);
      if (rows.every((row) => row.debits === 1)) return;
      if (Date.now() > deadline) {
        fail(`not applied within 30 s: ${JSON.stringify(rows.filter((row) => row.debits === 0))}`);
      }
      await sleep(50);
    }
  };

  const finalCheck = async (timeoutMs = 30_000): Promise<void> => {
    // Let armed processes that have not fired yet go: they would crash at some later point.
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await queryWhenUp(env)<{
        unpublished: number;
        unapplied: number;
        doubled: number;
        orphans: number;
      }>(
        `SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL)::int AS unpublished,
                (SELECT count(*) FROM charges c WHERE NOT EXISTS
                   (SELECT 1 FROM ledger.postings p WHERE p.charge_id = c.id AND p.direction = 'debit'))::int AS unapplied,
                (SELECT count(*) FROM (SELECT charge_id FROM ledger.postings WHERE direction = 'debit'
                   GROUP BY charge_id HAVING count(*) > 1) d)::int AS doubled,
                (SELECT count(*) FROM ledger.postings p WHERE NOT EXISTS
                   (SELECT 1 FROM charges c WHERE c.id = p.charge_id))::int AS orphans`,
      );
      const row = rows[0] ?? { unpublished: -1, unapplied: -1, doubled: 0, orphans: 0 };
      if (row.doubled > 0 || row.orphans > 0) {
        throw new Error(
          `ledger: ${row.doubled} charges applied more than once, ${row.orphans} postings without a charge`,
        );
      }
      if (row.unpublished === 0 && row.unapplied === 0) return;
      if (Date.now() > deadline) {
        throw new Error(
          `pipeline did not settle: ${row.unpublished} unpublished, ${row.unapplied} unapplied`,
        );
      }
      await sleep(200);
    }
  };

  return {
    run,
    finalCheck,
    stats,
    close: async () => {
      await proxy.close();
      await Promise.all(
        [...armed.values()].map((started) =>
          started.then(
            (service) => service.stop(2_000),
            () => {},
          ),
        ),
      );
    },
  };
}

export interface RunSchedulesOptions {
  stack: ScheduleEnvironment;
  numRuns: number;
  seed: number;
  path?: string;
  log?: (line: string) => void;
}

/**
 * Checks `numRuns` schedules (fast-check, no shrinking: a schedule is small already, and its
 * seed and path replay it), then the whole ledger. Resolves with a summary.
 */
export async function runSchedules(
  options: RunSchedulesOptions,
): Promise<{ ok: boolean; summary: string; stats: ScheduleStats; seconds: number }> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const runner = await createScheduleRunner(options.stack);
  let summary: string;
  let ok: boolean;
  try {
    log(
      `fault schedules: ${options.numRuns} runs, seed ${options.seed}${options.path ? `, path ${options.path}` : ''}, Redis key loss ${options.stack.flushRedis ? 'on' : 'off (no REDIS_URL)'}`,
    );
    const progress = setInterval(() => log(`  … ${runner.stats.schedules} schedules`), 5_000);
    const details = await fc
      .check(
        fc.asyncProperty(
          scheduleArbitrary({
            redis: Boolean(options.stack.flushRedis),
            database: Boolean(options.stack.killDatabase),
          }),
          (schedule) => runner.run(schedule),
        ),
        {
          numRuns: options.numRuns,
          seed: options.seed,
          endOnFailure: true,
          ...(options.path ? { path: options.path } : {}),
        },
      )
      .finally(() => clearInterval(progress));
    ok = !details.failed;
    let finalError = '';
    if (ok) {
      await runner.finalCheck().catch((error: unknown) => {
        ok = false;
        finalError = error instanceof Error ? error.message : String(error);
      });
    }
    const s = runner.stats;
    // Read after the database is back, and never in place of the verdict it annotates.
    await options.stack.databaseReady?.();
    const fidelity = await metricsFidelity(options.stack).catch(
      (error: unknown) => `metrics vs database: not read (${String(error)})`,
    );
    summary = [
      `${s.schedules} schedules in ${((Date.now() - started) / 1000).toFixed(1)} s: ${s.logicalOps} logical operations, ${s.requests} requests, ${s.mismatches} key reuses with another body, ${s.lostResponses} lost responses, ${s.redisFlushes} Redis key losses`,
      `per schedule: ${percentiles(s.durationsMs)}`,
      `crashes armed/fired: charge ${s.crashesArmed.charge}/${s.crashesFired.charge}, relay ${s.crashesArmed.relay}/${s.crashesFired.relay}, consumer ${s.crashesArmed.consumer}/${s.crashesFired.consumer}, database ${s.crashesArmed.database}/${s.crashesFired.database}`,
      ...(fidelity ? [fidelity] : []),
      details.failed
        ? `FAILED (replay with --seed ${details.seed} --path ${details.counterexamplePath}):\n${fc.defaultReportMessage(details) ?? ''}`
        : finalError
          ? `FAILED after all schedules: ${finalError}`
          : 'every logical operation charged once and applied exactly once; none lost, none unexpected',
    ].join('\n');
  } finally {
    await runner.close();
  }
  return { ok, summary, stats: runner.stats, seconds: (Date.now() - started) / 1000 };
}

/**
 * `env.pool.query`, waiting out a database the schedule SIGKILLed: the check may start while
 * the server is still restarting, or pick a pooled connection the crash has just broken.
 */
function queryWhenUp(env: ScheduleEnvironment): pg.Pool['query'] {
  const query = async (...args: Parameters<pg.Pool['query']>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await (env.pool.query as (...a: typeof args) => Promise<unknown>)(...args);
      } catch (error) {
        if (!env.databaseReady || attempt >= 50) throw error;
        await env.databaseReady();
        await sleep(100);
      }
    }
  };
  return query as pg.Pool['query'];
}

const sameBody = (a: ChargeInput, b: ChargeInput): boolean =>
  a.amount === b.amount && a.currency === b.currency && a.customerId === b.customerId;

function percentiles(durations: number[]): string {
  if (durations.length === 0) return 'none run';
  const sorted = [...durations].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${sorted[sorted.length - 1]} ms`;
}

/**
 * The metrics against the database they count: a process killed between its commit and its
 * metric line (exactly where the charge and consumer failpoints sit) loses that count.
 */
async function metricsFidelity(env: ScheduleEnvironment): Promise<string | undefined> {
  if (!env.metric) return undefined;
  const { rows } = await queryWhenUp(env)<{ charges: number; debits: number }>(
    `SELECT (SELECT count(*) FROM charges)::int AS charges,
            (SELECT count(*) FROM ledger.postings WHERE direction = 'debit')::int AS debits`,
  );
  const row = rows[0] ?? { charges: 0, debits: 0 };
  return `metrics vs database: charge_created_total ${env.metric('charge_created_total')} vs ${row.charges} charges, ledger_applied_total ${env.metric('ledger_applied_total')} vs ${row.debits} ledger applications`;
}
