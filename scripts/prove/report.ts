/**
 * The proof's report: what was injected, what the metrics say each layer did, the ledger
 * cross-check, and the verdict. The numbers of the server side come from /metrics (deltas
 * over the run), the client side from ClientMetrics; the proof's own bookkeeping only names
 * what it injected and what looked wrong.
 */
import type { ClientMetricsSnapshot } from '../../client/index.ts';
import type { MetricsReading } from './prometheus-text.ts';

export interface ServerMetrics {
  idempotency: { new: number; replay: number; in_flight: number; mismatch: number };
  chargeCreated: number;
  relayPublished: number;
  ledgerApplied: number;
  inboxDuplicates: number;
  deadLetterQueueDepth: number;
  outboxLagSeconds: number;
  outboxLagMaxSeconds: number;
  /** Supervisor restarts per process over the run. */
  restarts: Record<string, number>;
}

export interface CrossCheck {
  source: string;
  /** Charges found for the run's keys. */
  charges: number;
  appliedOnce: number;
  appliedMoreThanOnce: { key: string; chargeId: string; applications: number }[];
  notApplied: string[];
  /** Logical operations without a charge. */
  missing: string[];
  /** Charges no logical operation asked for (or with a body it did not send). */
  unexpected: string[];
}

/** The charges clients were answered 201 for, checked one by one after the run. */
export interface AnsweredCheck {
  answered201: number;
  /** Answered 201, yet not in the charges table: an acknowledged write was lost. */
  missing: string[];
  /** Answered 201, yet GET /charges/{id} with the owner's key did not return it. */
  notGettable: string[];
  /** Answered 201, yet its ledger applications are not exactly one. */
  notAppliedOnce: string[];
}

export interface Injected {
  duplicates: number;
  bursts: number;
  burstRequests: number;
  lostResponses: number;
  mismatches: number;
  redrives: number;
  relayKills: number;
  databaseKills: number;
  dedupWindowExpired: number;
  sabotage: string | null;
}

export interface ProofInput {
  runId: string;
  seed: number;
  logicalOps: number;
  concurrency: number;
  durationSeconds: number;
  target: string;
  dashboard: string;
  injected: Injected;
  client: ClientMetricsSnapshot;
  server: ServerMetrics;
  crossCheck: CrossCheck;
  answered: AnsweredCheck;
  drained: { ok: boolean; seconds: number; detail: string };
  anomalies: string[];
  relayKillExpected: boolean;
  databaseKillExpected: boolean;
}

export interface ProofReport extends ProofInput {
  /** ledger_applied_total over the run: the money-moving side effects. */
  appliedSideEffects: number;
  coverage: { what: string; observed: number; required: boolean }[];
  failures: string[];
  holds: boolean;
}

const COUNTERS = [
  'charge_created_total',
  'relay_published_total',
  'ledger_applied_total',
  'inbox_duplicate_total',
] as const;

/** Server metrics over the run: counters as differences from `baseline`, gauges as now. */
export function serverMetricsDelta(baseline: MetricsReading, now: MetricsReading): ServerMetrics {
  const counter = (name: string, labels: Record<string, string> = {}) =>
    now.value(name, labels) - baseline.value(name, labels);
  const [chargeCreated, relayPublished, ledgerApplied, inboxDuplicates] = COUNTERS.map((name) =>
    counter(name),
  ) as [number, number, number, number];
  const restarts: Record<string, number> = {};
  const before = baseline.by('local_process_restarts_total', 'service');
  for (const [service, value] of Object.entries(
    now.by('local_process_restarts_total', 'service'),
  )) {
    restarts[service] = value - (before[service] ?? 0);
  }
  const outcome = (name: string) => counter('idempotency_key_total', { outcome: name });
  return {
    idempotency: {
      new: outcome('new'),
      replay: outcome('replay'),
      in_flight: outcome('in_flight'),
      mismatch: outcome('mismatch'),
    },
    chargeCreated,
    relayPublished,
    ledgerApplied,
    inboxDuplicates,
    deadLetterQueueDepth: now.value('dead_letter_queue_depth'),
    outboxLagSeconds: now.value('outbox_lag_seconds'),
    outboxLagMaxSeconds: now.value('outbox_lag_seconds'),
    restarts,
  };
}

/** The verdict: the proof holds only if every check passes and every injected fault showed. */
export function judge(input: ProofInput): ProofReport {
  const { server, crossCheck, injected, logicalOps } = input;
  const appliedSideEffects = server.ledgerApplied;
  const coverage = [
    { what: 'idempotency replays', observed: server.idempotency.replay, required: true },
    {
      what: 'in-flight 409s (same-key bursts)',
      observed: server.idempotency.in_flight,
      required: injected.bursts > 0,
    },
    {
      what: 'mismatch 422s (key reused, body changed)',
      observed: server.idempotency.mismatch,
      required: injected.mismatches > 0,
    },
    {
      what: 'lost responses (proxy)',
      observed: injected.lostResponses,
      required: injected.lostResponses > 0,
    },
    {
      what: 'relay restarts after SIGKILL',
      observed: server.restarts.relay ?? 0,
      required: input.relayKillExpected,
    },
    {
      what: 'database restarts after SIGKILL',
      observed: server.restarts.postgres ?? 0,
      required: input.databaseKillExpected,
    },
    {
      what: 'inbox duplicates (re-publish absorbed)',
      observed: server.inboxDuplicates,
      required: input.relayKillExpected,
    },
  ];

  const failures: string[] = [];
  if (crossCheck.appliedMoreThanOnce.length > 0) {
    const examples = crossCheck.appliedMoreThanOnce
      .slice(0, 5)
      .map((row) => `${row.key} (charge ${row.chargeId}): ${row.applications} debit postings`);
    failures.push(
      `DOUBLE APPLICATION: ${crossCheck.appliedMoreThanOnce.length} charge(s) applied more than once, e.g. ${examples.join('; ')}`,
    );
  }
  if (appliedSideEffects !== logicalOps) {
    failures.push(
      `applied side effects (ledger_applied_total) ${appliedSideEffects} ≠ logical operations ${logicalOps}`,
    );
  }
  if (server.chargeCreated !== logicalOps) {
    failures.push(
      `charge_created_total ${server.chargeCreated} ≠ logical operations ${logicalOps}`,
    );
  }
  if (crossCheck.missing.length > 0) {
    failures.push(
      `LOST: ${crossCheck.missing.length} logical operation(s) have no charge, e.g. ${crossCheck.missing.slice(0, 3).join(', ')}`,
    );
  }
  if (crossCheck.notApplied.length > 0) {
    failures.push(
      `NOT APPLIED: ${crossCheck.notApplied.length} charge(s) never reached the ledger, e.g. ${crossCheck.notApplied.slice(0, 3).join(', ')}`,
    );
  }
  if (crossCheck.unexpected.length > 0) {
    failures.push(
      `UNEXPECTED: ${crossCheck.unexpected.length} charge(s), e.g. ${crossCheck.unexpected.slice(0, 3).join('; ')}`,
    );
  }
  const { answered } = input;
  if (answered.missing.length > 0) {
    failures.push(
      `ACKNOWLEDGED THEN LOST: ${answered.missing.length} charge(s) answered 201 are not in the database, e.g. ${answered.missing.slice(0, 3).join(', ')}`,
    );
  }
  if (answered.notGettable.length > 0) {
    failures.push(
      `${answered.notGettable.length} charge(s) answered 201 cannot be read by their owner, e.g. ${answered.notGettable.slice(0, 3).join(', ')}`,
    );
  }
  if (answered.notAppliedOnce.length > 0) {
    failures.push(
      `${answered.notAppliedOnce.length} charge(s) answered 201 are not applied exactly once, e.g. ${answered.notAppliedOnce.slice(0, 3).join(', ')}`,
    );
  }
  if (server.deadLetterQueueDepth > 0) {
    failures.push(`dead_letter_queue_depth is ${server.deadLetterQueueDepth}`);
  }
  if (!input.drained.ok) failures.push(`the pipeline did not drain: ${input.drained.detail}`);
  for (const anomaly of input.anomalies.slice(0, 10)) failures.push(`contract: ${anomaly}`);
  if (input.anomalies.length > 10) {
    failures.push(`contract: … and ${input.anomalies.length - 10} more`);
  }
  for (const item of coverage) {
    if (item.required && item.observed === 0) {
      failures.push(`not exercised: ${item.what} stayed at 0, so the proof proves less`);
    }
  }
  return { ...input, appliedSideEffects, coverage, failures, holds: failures.length === 0 };
}

/** The report as text, for the terminal. */
export function formatReport(report: ProofReport): string {
  const { injected, client, server, crossCheck } = report;
  const row = (label: string, value: string | number) => `  ${label.padEnd(44)} ${value}`;
  const mean =
    client.retry_delay_seconds.count > 0
      ? client.retry_delay_seconds.sum / client.retry_delay_seconds.count
      : 0;
  const absorbedByKey =
    server.idempotency.replay + server.idempotency.in_flight + server.idempotency.mismatch;
  const lines = [
    '',
    `effectively-once proof · ${report.logicalOps} logical charges · concurrency ${report.concurrency} · seed ${report.seed} · ${report.durationSeconds.toFixed(1)} s`,
    `target ${report.target} · dashboard ${report.dashboard}`,
    '',
    'faults injected',
    row('duplicate submissions (same key after success)', injected.duplicates),
    row('same-key bursts', `${injected.bursts} (${injected.burstRequests} concurrent requests)`),
    row('lost responses (proxy dropped the answer)', injected.lostResponses),
    row('key reuse with a changed body (not ops)', injected.mismatches),
    row('relay SIGKILLs', injected.relayKills),
    row('PostgreSQL SIGKILLs', injected.databaseKills),
    row('SQS dedup window expired (queue recreated)', injected.dedupWindowExpired),
    row('charges re-driven after an unknown outcome', injected.redrives),
    ...(injected.sabotage ? [row('SABOTAGE (test only)', injected.sabotage)] : []),
    '',
    'client metrics (ClientMetrics)',
    row(
      'retry_attempt_total by attempt',
      Object.entries(client.retry_attempt_total)
        .map(([attempt, count]) => `${attempt}: ${count}`)
        .join('  '),
    ),
    row(
      'http_request_outcome by class',
      Object.entries(client.http_request_outcome)
        .map(([cls, count]) => `${cls}: ${count}`)
        .join('  '),
    ),
    row(
      'retry_delay_seconds',
      `${client.retry_delay_seconds.count} retries, mean ${(mean * 1000).toFixed(0)} ms`,
    ),
    row('retry_budget_exhausted_total', client.retry_budget_exhausted_total),
    '',
    'server metrics (/metrics, change over the run)',
    row(
      'idempotency_key_total by outcome',
      Object.entries(server.idempotency)
        .map(([outcome, count]) => `${outcome}: ${count}`)
        .join('  '),
    ),
    row('charge_created_total', server.chargeCreated),
    row(
      'relay_published_total',
      server.relayPublished < server.chargeCreated
        ? `${server.relayPublished} (emitted when a relay invocation ends: a SIGKILLed one's count is lost)`
        : server.relayPublished,
    ),
    row('ledger_applied_total', server.ledgerApplied),
    row('inbox_duplicate_total', server.inboxDuplicates),
    row('dead_letter_queue_depth', server.deadLetterQueueDepth),
    row(
      'outbox_lag_seconds',
      `${server.outboxLagSeconds.toFixed(1)} now, ${server.outboxLagMaxSeconds.toFixed(1)} max seen`,
    ),
    row(
      'process restarts',
      Object.entries(server.restarts)
        .map(([service, count]) => `${service}: ${count}`)
        .join('  ') || 'none',
    ),
    '',
    'what each layer absorbed',
    row(
      'Idempotency-Key (replay + in_flight + mismatch)',
      `${absorbedByKey} requests that charged nothing`,
    ),
    row(
      'charges unique on (client, key)',
      `${crossCheck.charges} charges for ${report.logicalOps} keys`,
    ),
    row(
      'ledger inbox (re-deliveries, re-publishes)',
      `${server.inboxDuplicates} events applied 0 times`,
    ),
    '',
    `cross-check: ${crossCheck.source}`,
    row('charges of this run', crossCheck.charges),
    row('applied exactly once', crossCheck.appliedOnce),
    row('applied more than once', crossCheck.appliedMoreThanOnce.length),
    row('not applied', crossCheck.notApplied.length),
    row('logical operations without a charge', crossCheck.missing.length),
    row('unexpected charges', crossCheck.unexpected.length),
    row(
      'pipeline drained',
      `${report.drained.ok ? 'yes' : 'NO'} in ${report.drained.seconds.toFixed(1)} s`,
    ),
    '',
    'every charge answered 201 (by id)',
    row('answered 201', report.answered.answered201),
    row('answered 201, then missing from the database', report.answered.missing.length),
    row('answered 201, not GET-able by its owner', report.answered.notGettable.length),
    row('answered 201, not applied exactly once', report.answered.notAppliedOnce.length),
    '',
    `applied side effects: ${report.appliedSideEffects} / ${report.logicalOps}`,
  ];
  if (report.holds) {
    lines.push('PROOF HOLDS: every logical charge applied exactly once, none lost, none doubled.');
  } else {
    lines.push('PROOF FAILED:');
    for (const failure of report.failures) lines.push(`  - ${failure}`);
  }
  return `${lines.join('\n')}\n`;
}
