/**
 * The proof's checks once the traffic stops: every answered charge still exists and was
 * applied once, the pipeline drains, and the database, the API and the metrics agree.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { type MetricsReading, readMetrics } from './prometheus-text.ts';
import type { OpPlan, ProofOptions } from './proof.ts';
import { type AnsweredCheck, type CrossCheck, serverMetricsDelta } from './report.ts';

/**
 * Every charge a client was answered 201 for: it exists in PostgreSQL (when there is a pool),
 * its owner can GET it, and it was applied exactly once. A database that lost an acknowledged
 * commit shows here as a charge answered and then missing.
 */
export async function checkAnsweredCharges(
  apiUrl: string,
  apiKey: string,
  chargeIds: Map<string, string>,
  pool: pg.Pool | undefined,
): Promise<AnsweredCheck> {
  const ids = [...chargeIds.values()];
  const check: AnsweredCheck = {
    answered201: ids.length,
    missing: [],
    notGettable: [],
    notAppliedOnce: [],
  };
  if (pool) {
    const { rows } = await pool.query<{ id: string }>(
      'SELECT id::text FROM charges WHERE id::text = ANY($1::text[])',
      [ids],
    );
    const found = new Set(rows.map((row) => row.id));
    check.missing = ids.filter((id) => !found.has(id));
  }
  const queue = [...ids];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let id = queue.shift(); id; id = queue.shift()) {
        const response = await fetch(`${apiUrl}/charges/${id}`, {
          headers: { 'x-api-key': apiKey },
        }).catch(() => undefined);
        if (response?.status !== 200) {
          check.notGettable.push(`${id} (${response?.status ?? 'no answer'})`);
          continue;
        }
        const body = (await response.json()) as { id?: string; ledger?: { applications?: number } };
        if (body.id !== id) check.notGettable.push(`${id} (answered charge ${body.id})`);
        else if (body.ledger?.applications !== 1) {
          check.notAppliedOnce.push(`${id} (${body.ledger?.applications} applications)`);
        }
      }
    }),
  );
  return check;
}

/** Waits (bounded) until the outbox is empty and every charge of the run is in the ledger. */
export async function drain(
  options: ProofOptions,
  runId: string,
  ops: number,
  baseline: MetricsReading,
  onReading: (reading: MetricsReading) => void,
): Promise<{ ok: boolean; seconds: number; detail: string }> {
  const { target } = options;
  const started = Date.now();
  const deadline = started + (options.drainTimeoutMs ?? 60_000);
  let detail = '';
  let stableReads = 0;
  while (Date.now() < deadline) {
    const reading = await readMetrics(target.metricsUrl);
    onReading(reading);
    const delta = serverMetricsDelta(baseline, reading);
    let done: boolean;
    if (target.pool) {
      const { rows } = await target.pool.query<{
        unpublished: number;
        charges: number;
        applied: number;
        debits: number;
      }>(
        `SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL)::int AS unpublished,
                count(*)::int AS charges,
                count(*) FILTER (WHERE d.n > 0)::int AS applied,
                coalesce(sum(d.n), 0)::int AS debits
           FROM charges c
           CROSS JOIN LATERAL (SELECT count(*) AS n FROM ledger.postings p
                                WHERE p.charge_id = c.id AND p.direction = 'debit') d
          WHERE c.idempotency_key LIKE $1`,
        [`prove-${runId}-%`],
      );
      const row = rows[0] ?? { unpublished: -1, charges: 0, applied: 0, debits: 0 };
      const queue = target.stack ? await target.stack.queueDepth() : 0;
      detail = `outbox ${row.unpublished} unpublished, queue ${queue}, ledger ${row.applied}/${row.charges} charges, metrics applied ${delta.ledgerApplied}/${row.debits}`;
      done =
        row.unpublished === 0 &&
        queue === 0 &&
        row.applied === row.charges &&
        delta.ledgerApplied >= row.debits;
    } else {
      detail = `metrics: created ${delta.chargeCreated}, applied ${delta.ledgerApplied}, lag ${delta.outboxLagSeconds}`;
      done =
        delta.chargeCreated >= ops &&
        delta.ledgerApplied >= delta.chargeCreated &&
        delta.outboxLagSeconds === 0;
    }
    stableReads = done ? stableReads + 1 : 0;
    // Two reads in a row, half a second apart: late EMF lines and redeliveries have landed.
    if (stableReads >= 2) return { ok: true, seconds: (Date.now() - started) / 1000, detail };
    await sleep(500);
  }
  return { ok: false, seconds: (Date.now() - started) / 1000, detail };
}

export async function crossCheckInPostgres(
  pool: pg.Pool,
  runId: string,
  plans: OpPlan[],
): Promise<CrossCheck> {
  const { rows } = await pool.query<{ id: string; key: string; amount: string; debits: number }>(
    `SELECT c.id, c.idempotency_key AS key, c.amount,
            (SELECT count(*) FROM ledger.postings p
              WHERE p.charge_id = c.id AND p.direction = 'debit')::int AS debits
       FROM charges c WHERE c.idempotency_key LIKE $1`,
    [`prove-${runId}-%`],
  );
  return compare(
    'PostgreSQL (charges ⋈ ledger.postings, debit postings per charge)',
    plans,
    rows.map((row) => ({
      key: row.key,
      chargeId: row.id,
      amount: Number(row.amount),
      applications: row.debits,
    })),
  );
}

export async function crossCheckThroughApi(
  apiUrl: string,
  apiKey: string,
  plans: OpPlan[],
  chargeIds: Map<string, string>,
): Promise<CrossCheck> {
  const found: { key: string; chargeId: string; amount: number; applications: number }[] = [];
  const queue = plans.filter((plan) => chargeIds.has(plan.key));
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let plan = queue.shift(); plan; plan = queue.shift()) {
        const id = chargeIds.get(plan.key) ?? '';
        const response = await fetch(`${apiUrl}/charges/${id}`, {
          headers: { 'x-api-key': apiKey },
        });
        if (response.status !== 200) continue;
        const body = (await response.json()) as {
          amount: number;
          ledger: { applications: number };
        };
        found.push({
          key: plan.key,
          chargeId: id,
          amount: body.amount,
          applications: body.ledger.applications,
        });
      }
    }),
  );
  return compare('GET /charges/{id} ledger.applications', plans, found);
}

function compare(
  source: string,
  plans: OpPlan[],
  rows: { key: string; chargeId: string; amount: number; applications: number }[],
): CrossCheck {
  const byKey = new Map(plans.map((plan) => [plan.key, plan]));
  const seen = new Map<string, number>();
  const check: CrossCheck = {
    source,
    charges: rows.length,
    appliedOnce: 0,
    appliedMoreThanOnce: [],
    notApplied: [],
    missing: [],
    unexpected: [],
  };
  for (const row of rows) {
    seen.set(row.key, (seen.get(row.key) ?? 0) + 1);
    const plan = byKey.get(row.key);
    if (!plan || plan.body.amount !== row.amount) {
      check.unexpected.push(`${row.key}: charge ${row.chargeId} for ${row.amount}`);
    }
    if (row.applications === 1) check.appliedOnce += 1;
    else if (row.applications === 0) check.notApplied.push(`${row.key} (charge ${row.chargeId})`);
    else {
      check.appliedMoreThanOnce.push({
        key: row.key,
        chargeId: row.chargeId,
        applications: row.applications,
      });
    }
  }
  for (const plan of plans) {
    const count = seen.get(plan.key) ?? 0;
    if (count === 0) check.missing.push(plan.key);
    if (count > 1) check.unexpected.push(`${plan.key}: ${count} charges for one key`);
  }
  return check;
}

export async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(100);
  }
}
