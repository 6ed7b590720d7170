import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChargeClient,
  ChargeClientError,
  ClientMetrics,
  RetryBudget,
} from '../../../client/index.ts';
import { createFaultProxy, type FaultProxy } from '../../../scripts/fault-proxy/fault-proxy.ts';
import { type ScriptedServer, startScriptedServer } from './scripted-server.ts';

// The SPEC's "10 s downstream outage under client retries", compressed 2.5x in time so the
// test stays short: a 4 s outage inside 6 s of steady load, Retry-After 1 s on each 503 and
// backoff windows of 100 ms..1 s. The budget is the AWS SDK default (500 tokens, 5 a retry).
const RATE_PER_SECOND = 150;
const LOAD_MS = 6_000;
const OUTAGE_STARTS_AT_MS = 1_000;
const OUTAGE_MS = 4_000;

interface RunReport {
  operations: number;
  attempts: number;
  clientAttempts: number;
  succeeded: number;
  failedAnswers: number;
  thrown: Record<string, number>;
  budgetExhausted: number;
  proxy: FaultProxy['stats'];
}

let server: ScriptedServer | undefined;
let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await server?.close();
  proxy = undefined;
  server = undefined;
});

/** Steady load through the fault proxy, with an outage in the middle; returns the counts. */
async function runOutage(retryBudget: RetryBudget | undefined): Promise<RunReport> {
  server = await startScriptedServer(() => ({ status: 201, body: { id: 'ch' } }));
  proxy = await createFaultProxy({ target: server.url });
  const metrics = new ClientMetrics();
  const client = new ChargeClient({
    baseUrl: proxy.url,
    apiKey: 'test-api-key',
    maxAttempts: 3,
    baseDelayMs: 100,
    capDelayMs: 1_000,
    perAttemptTimeoutMs: 2_000,
    deadlineMs: 10_000,
    metrics,
    ...(retryBudget ? { retryBudget } : {}),
  });

  const operations = Math.round((RATE_PER_SECOND * LOAD_MS) / 1000);
  const calls: Promise<string>[] = [];
  const start = performance.now();
  let outageStarted = false;
  for (let i = 0; i < operations; i += 1) {
    const dueMs = (i * 1000) / RATE_PER_SECOND;
    if (!outageStarted && dueMs >= OUTAGE_STARTS_AT_MS) {
      proxy.setFaults({ outage: { durationMs: OUTAGE_MS, retryAfterSeconds: 1 } });
      outageStarted = true;
    }
    const waitMs = start + dueMs - performance.now();
    if (waitMs > 0) await sleep(waitMs);
    calls.push(
      client.createCharge({ amount: 100 + i, currency: 'EUR', customerId: 'load' }).then(
        (result) => (result.ok ? 'ok' : `answer ${result.status}`),
        (error: unknown) => (error instanceof ChargeClientError ? error.name : 'unexpected'),
      ),
    );
  }
  const outcomes = await Promise.all(calls);

  const snapshot = metrics.snapshot();
  const thrown: Record<string, number> = {};
  for (const outcome of outcomes) {
    if (outcome !== 'ok' && !outcome.startsWith('answer'))
      thrown[outcome] = (thrown[outcome] ?? 0) + 1;
  }
  return {
    operations,
    attempts: proxy.stats.received,
    clientAttempts: Object.values(snapshot.retry_attempt_total).reduce((a, b) => a + b, 0),
    succeeded: outcomes.filter((outcome) => outcome === 'ok').length,
    failedAnswers: outcomes.filter((outcome) => outcome.startsWith('answer')).length,
    thrown,
    budgetExhausted: snapshot.retry_budget_exhausted_total,
    proxy: proxy.stats,
  };
}

describe('a downstream outage under client retries', () => {
  it('stays within 1.2 attempts per operation with a shared retry budget (10 s outage compressed to 4 s)', async () => {
    const withBudget = await runOutage(new RetryBudget());
    await proxy?.close();
    await server?.close();
    const withoutBudget = await runOutage(undefined);

    const ratio = (report: RunReport) => report.attempts / report.operations;
    const row = (label: string, a: unknown, b: unknown) =>
      `  ${label.padEnd(34)} ${String(a).padStart(14)} ${String(b).padStart(16)}`;
    console.log(
      [
        `${OUTAGE_MS} ms outage (a 10 s outage compressed 2.5x) in ${LOAD_MS} ms of ${RATE_PER_SECOND} charges/s, maxAttempts 3, Retry-After 1 s`,
        row('', 'with budget', 'without budget'),
        row('logical operations', withBudget.operations, withoutBudget.operations),
        row('attempts (seen by the proxy)', withBudget.attempts, withoutBudget.attempts),
        row(
          'attempts per operation',
          ratio(withBudget).toFixed(3),
          ratio(withoutBudget).toFixed(3),
        ),
        row('answered 503 by the outage', withBudget.proxy.outage, withoutBudget.proxy.outage),
        row('succeeded (2xx)', withBudget.succeeded, withoutBudget.succeeded),
        row(
          'ended on a 503 (attempts used)',
          withBudget.failedAnswers,
          withoutBudget.failedAnswers,
        ),
        row(
          'thrown (fail fast)',
          JSON.stringify(withBudget.thrown),
          JSON.stringify(withoutBudget.thrown),
        ),
        row(
          'retry_budget_exhausted_total',
          withBudget.budgetExhausted,
          withoutBudget.budgetExhausted,
        ),
      ].join('\n'),
    );

    for (const report of [withBudget, withoutBudget]) {
      expect(report.clientAttempts).toBe(report.attempts);
      expect(report.proxy.outage).toBeGreaterThan(0);
    }
    expect(ratio(withBudget)).toBeLessThanOrEqual(1.2);
    expect(withBudget.budgetExhausted).toBeGreaterThan(0);
    expect(withBudget.thrown.RetryBudgetExhaustedError).toBe(withBudget.budgetExhausted);
    expect(ratio(withoutBudget)).toBeGreaterThan(1.5);
    expect(withoutBudget.budgetExhausted).toBe(0);
  });
});
