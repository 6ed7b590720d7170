/**
 * The proof (docs/CONTRACT.md "Proof"): N logical charges through the retrying client while
 * duplicates, same-key bursts, lost responses, key reuse with a changed body, a relay SIGKILL
 * and a PostgreSQL SIGKILL are injected; then the pipeline drains and the verdict is read from
 * the metrics and cross-checked against the ledger in PostgreSQL and through the API.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import {
  ChargeClient,
  ChargeClientError,
  type ChargeInput,
  type ChargeResult,
  ClientMetrics,
  RetryBudget,
} from '../../client/index.ts';
import { createFaultProxy, type FaultProxy } from '../fault-proxy/fault-proxy.ts';
import type { LocalStack } from '../local/stack/stack.ts';
import { readMetrics } from './prometheus-text.ts';
import {
  checkAnsweredCharges,
  crossCheckInPostgres,
  crossCheckThroughApi,
  drain,
} from './proof-checks.ts';
import { killDatabase, killRelay } from './proof-faults.ts';
import { type Random, seededRandom } from './random.ts';
import { judge, type ProofReport, type ServerMetrics, serverMetricsDelta } from './report.ts';

export const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'SEK'] as const;

export interface ProofTarget {
  apiUrl: string;
  /** The /metrics endpoint (Prometheus text) of the metrics view. */
  metricsUrl: string;
  /** For the cross-check; without it, GET /charges/{id} reports each charge's applications. */
  pool?: pg.Pool;
  /** A local stack: lets the proof SIGKILL the relay and watch the queue. */
  stack?: LocalStack;
}

export interface ProofOptions {
  target: ProofTarget;
  apiKey: string;
  ops: number;
  concurrency: number;
  seed: number;
  /** Share of logical charges resent with the same key after their success. */
  duplicateShare?: number;
  /** Share of logical charges sent as `burstSize` concurrent requests with one key. */
  burstShare?: number;
  burstSize?: number;
  /** Share of logical charges followed by their key with a changed body (expects 422). */
  mismatchShare?: number;
  /** Share of logical charges whose first answer the proxy throws away. */
  lostFirstShare?: number;
  /** On top: every answer is lost with this probability. */
  lostFraction?: number;
  /** SIGKILL the relay mid-run (local stack only). Default true when there is a stack. */
  relayKill?: boolean;
  /**
   * SIGKILL PostgreSQL mid-run; the stack restarts it on the same data directory. Default
   * true when the stack runs its own server.
   */
  databaseKill?: boolean;
  /**
   * TEST-ONLY sabotage that disables one dedup layer, to show the proof can fail:
   * `truncate-inbox` empties ledger.inbox before the killed relay's events are re-published
   * after the SQS deduplication window.
   */
  sabotage?: 'truncate-inbox';
  drainTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface OpPlan {
  index: number;
  key: string;
  body: ChargeInput;
  duplicate: boolean;
  burst: boolean;
  mismatch: boolean;
  loseFirst: boolean;
}

/** Runs the proof; resolves with the report (check `report.holds`). */
export async function runProof(options: ProofOptions): Promise<ProofReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const runId = `${started.toString(36)}${options.seed.toString(36)}`;
  const random = seededRandom(options.seed);
  const plans = planOperations(options, runId, random);
  const { target } = options;
  const metricsBase = target.metricsUrl.replace(/\/metrics\/?$/, '');
  const baseline = await readMetrics(target.metricsUrl);

  const loseFirst = new Set(plans.filter((plan) => plan.loseFirst).map((plan) => plan.key));
  const lossRandom = seededRandom(options.seed ^ 0x5eed);
  let proxy: FaultProxy | undefined;
  if (isLoopback(target.apiUrl)) {
    proxy = await createFaultProxy({
      target: target.apiUrl,
      faults: {
        lostResponse: {
          match: (request) => {
            if (request.method !== 'POST') return false;
            const key = String(request.headers['idempotency-key'] ?? '');
            if (loseFirst.delete(key)) return true;
            return lossRandom.chance(options.lostFraction ?? 0.01);
          },
        },
      },
    });
  } else {
    log(`target ${target.apiUrl} is not on loopback: no fault proxy, no lost responses`);
  }

  const clientMetrics = new ClientMetrics();
  const client = new ChargeClient({
    baseUrl: proxy?.url ?? target.apiUrl,
    apiKey: options.apiKey,
    maxAttempts: 8,
    baseDelayMs: 50,
    capDelayMs: 1_000,
    perAttemptTimeoutMs: 5_000,
    deadlineMs: 20_000,
    retryBudget: new RetryBudget(),
    metrics: clientMetrics,
  });
  const source = `prove-${runId}`;
  const pushClientMetrics = () =>
    fetch(`${metricsBase}/metrics/client?source=${source}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(clientMetrics.snapshot()),
      signal: AbortSignal.timeout(2_000),
    }).catch(() => undefined);

  const anomalies: string[] = [];
  const chargeIds = new Map<string, string>();
  const injected = {
    duplicates: 0,
    bursts: 0,
    burstRequests: 0,
    lostResponses: 0,
    mismatches: 0,
    redrives: 0,
    relayKills: 0,
    databaseKills: 0,
    dedupWindowExpired: 0,
    sabotage: options.sabotage ?? null,
  };
  let completed = 0;
  let maxLag = 0;

  /** A logical charge to its end: retried with the same key until an answer is known. */
  const drive = async (plan: OpPlan, body: ChargeInput): Promise<ChargeResult> => {
    for (let round = 1; ; round++) {
      try {
        const result = await client.createCharge(body, { idempotencyKey: plan.key });
        // Still 409 after every attempt: a claim whose invocation died with the database is
        // exclusive until its in-progress window ends. The contract says: retry, same key.
        if (result.status !== 409 || round >= 5) return result;
      } catch (error) {
        if (!(error instanceof ChargeClientError) || round >= 5) throw error;
      }
      // Outcome unknown: what a real caller does later, with the same key.
      injected.redrives += 1;
      await sleep(250 * round);
    }
  };
  const expectCharge = (plan: OpPlan, result: ChargeResult, what: string): void => {
    if (!result.ok) {
      anomalies.push(`${plan.key}: ${what} answered ${result.status}, expected 201`);
      return;
    }
    const id = String((result.body as { id?: unknown })?.id ?? '');
    const known = chargeIds.get(plan.key);
    if (known === undefined) chargeIds.set(plan.key, id);
    else if (known !== id)
      anomalies.push(`${plan.key}: ${what} returned charge ${id}, not ${known}`);
  };

  const runOperation = async (plan: OpPlan): Promise<void> => {
    if (plan.burst) {
      injected.bursts += 1;
      injected.burstRequests += options.burstSize ?? 4;
      const results = await Promise.all(
        Array.from({ length: options.burstSize ?? 4 }, () => drive(plan, plan.body)),
      );
      for (const result of results) expectCharge(plan, result, 'a burst request');
    } else {
      expectCharge(plan, await drive(plan, plan.body), 'the charge');
    }
    if (plan.duplicate) {
      injected.duplicates += 1;
      const again = await drive(plan, plan.body);
      expectCharge(plan, again, 'the duplicate');
      if (again.ok && !again.replayed)
        anomalies.push(`${plan.key}: duplicate not marked Idempotent-Replayed`);
    }
    if (plan.mismatch) {
      injected.mismatches += 1;
      const changed = { ...plan.body, amount: plan.body.amount + 1 };
      const refused = await drive(plan, changed);
      if (refused.status !== 422) {
        anomalies.push(
          `${plan.key}: reuse with a changed body answered ${refused.status}, not 422`,
        );
      }
    }
  };

  const relayKill = options.relayKill ?? Boolean(target.stack);
  let relayKillDone: Promise<void> | undefined;
  const killAt = Math.floor(plans.length * 0.35);

  const databaseKill = options.databaseKill ?? Boolean(target.stack?.database.embedded);
  let databaseKillDone: Promise<void> | undefined;
  const databaseKillAt = Math.floor(plans.length * 0.6);

  const progress = setInterval(() => {
    void (async () => {
      await pushClientMetrics();
      const reading = await readMetrics(target.metricsUrl).catch(() => undefined);
      if (!reading) return;
      const now = serverMetricsDelta(baseline, reading);
      maxLag = Math.max(maxLag, now.outboxLagSeconds);
      log(
        `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ops ${completed}/${plans.length}` +
          ` · created ${now.chargeCreated} · applied ${now.ledgerApplied}` +
          ` · replay ${now.idempotency.replay} · in_flight ${now.idempotency.in_flight}` +
          ` · mismatch ${now.idempotency.mismatch} · inbox dup ${now.inboxDuplicates}` +
          ` · lag ${now.outboxLagSeconds.toFixed(1)} s · relay restarts ${now.restarts.relay ?? 0}`,
      );
    })();
  }, 1_000);

  try {
    let next = 0;
    const worker = async () => {
      while (next < plans.length) {
        const plan = plans[next++] as OpPlan;
        try {
          await runOperation(plan);
        } catch (error) {
          anomalies.push(
            `${plan.key}: no final answer after retries (${error instanceof Error ? error.message : String(error)})`,
          );
        }
        completed += 1;
        if (relayKill && target.stack && completed >= killAt && !relayKillDone) {
          relayKillDone = killRelay(target.stack, options, injected, log);
        }
        if (databaseKill && target.stack && completed >= databaseKillAt && !databaseKillDone) {
          databaseKillDone = killDatabase(target.stack, injected, log);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
    await relayKillDone;
    await databaseKillDone;
    proxy?.clearFaults();
    injected.lostResponses = proxy?.stats.dropped ?? 0;
    await pushClientMetrics();

    log('all operations answered; waiting for the pipeline to drain…');
    const drained = await drain(options, runId, plans.length, baseline, (reading) => {
      maxLag = Math.max(maxLag, reading.value('outbox_lag_seconds'));
    });
    const final = await readMetrics(target.metricsUrl);
    const server: ServerMetrics = serverMetricsDelta(baseline, final);
    server.outboxLagMaxSeconds = Math.max(maxLag, server.outboxLagSeconds);
    const crossCheck = target.pool
      ? await crossCheckInPostgres(target.pool, runId, plans)
      : await crossCheckThroughApi(target.apiUrl, options.apiKey, plans, chargeIds);
    const answered = await checkAnsweredCharges(
      target.apiUrl,
      options.apiKey,
      chargeIds,
      target.pool,
    );

    return judge({
      runId,
      seed: options.seed,
      logicalOps: plans.length,
      concurrency: options.concurrency,
      durationSeconds: (Date.now() - started) / 1000,
      target: target.apiUrl,
      dashboard: `${metricsBase}/dashboard`,
      injected,
      client: clientMetrics.snapshot(),
      server,
      crossCheck,
      answered,
      drained,
      anomalies,
      relayKillExpected: relayKill && Boolean(target.stack),
      databaseKillExpected: databaseKill && Boolean(target.stack),
    });
  } finally {
    clearInterval(progress);
    await proxy?.close();
  }
}

function planOperations(options: ProofOptions, runId: string, random: Random): OpPlan[] {
  return Array.from({ length: options.ops }, (_, index) => ({
    index,
    key: `prove-${runId}-${index}`,
    body: {
      amount: 100 + random.int(99_900),
      currency: random.pick(CURRENCIES),
      customerId: `cus_${random.int(64)}`,
      description: `prove ${runId} #${index}`,
    },
    duplicate: random.chance(options.duplicateShare ?? 0.1),
    burst: random.chance(options.burstShare ?? 0.05),
    mismatch: random.chance(options.mismatchShare ?? 0.03),
    loseFirst: random.chance(options.lostFirstShare ?? 0.04),
  }));
}

function isLoopback(url: string): boolean {
  try {
    const { hostname } = new URL(url);
    return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
  } catch {
    return false;
  }
}
