import { describe, expect, it } from 'vitest';
import { ClientMetrics } from '../../../client/index.ts';
import { MetricsReading } from '../../../scripts/prove/prometheus-text.ts';
import { seededRandom } from '../../../scripts/prove/random.ts';
import {
  formatReport,
  judge,
  type ProofInput,
  serverMetricsDelta,
} from '../../../scripts/prove/report.ts';

const BEFORE = MetricsReading.parse(`
idempotency_key_total{outcome="new"} 10
idempotency_key_total{outcome="replay"} 5
charge_created_total 10
ledger_applied_total 10
inbox_duplicate_total 0
outbox_lag_seconds 7
local_process_restarts_total{service="relay"} 1
`);

function input(overrides: Partial<ProofInput> = {}): ProofInput {
  const after = MetricsReading.parse(`
idempotency_key_total{outcome="new"} 110
idempotency_key_total{outcome="replay"} 45
idempotency_key_total{outcome="in_flight"} 3
idempotency_key_total{outcome="mismatch"} 2
charge_created_total 110
ledger_applied_total 110
inbox_duplicate_total 12
relay_published_total 100
outbox_lag_seconds 0
dead_letter_queue_depth 0
local_process_restarts_total{service="relay"} 3
local_process_restarts_total{service="postgres"} 1
`);
  return {
    runId: 'r',
    seed: 1,
    logicalOps: 100,
    concurrency: 4,
    durationSeconds: 1,
    target: 'http://127.0.0.1:1',
    dashboard: 'http://127.0.0.1:1/dashboard',
    injected: {
      duplicates: 10,
      bursts: 2,
      burstRequests: 8,
      lostResponses: 4,
      mismatches: 2,
      redrives: 0,
      relayKills: 2,
      databaseKills: 1,
      dedupWindowExpired: 1,
      sabotage: null,
    },
    client: new ClientMetrics().snapshot(),
    server: serverMetricsDelta(BEFORE, after),
    crossCheck: {
      source: 'test',
      charges: 100,
      appliedOnce: 100,
      appliedMoreThanOnce: [],
      notApplied: [],
      missing: [],
      unexpected: [],
    },
    answered: { answered201: 100, missing: [], notGettable: [], notAppliedOnce: [] },
    drained: { ok: true, seconds: 1, detail: '' },
    anomalies: [],
    relayKillExpected: true,
    databaseKillExpected: true,
    ...overrides,
  };
}

describe('the proof report', () => {
  it('reads the server side as deltas of the metrics over the run', () => {
    const { server } = input();
    expect(server.idempotency).toEqual({ new: 100, replay: 40, in_flight: 3, mismatch: 2 });
    expect(server.ledgerApplied).toBe(100);
    expect(server.inboxDuplicates).toBe(12);
    expect(server.outboxLagSeconds).toBe(0);
    expect(server.restarts.relay).toBe(2);
  });

  it('holds when every logical operation was applied once and every fault showed', () => {
    const report = judge(input());
    expect(report.failures).toEqual([]);
    expect(formatReport(report)).toContain('applied side effects: 100 / 100');
    expect(formatReport(report)).toContain('PROOF HOLDS');
  });

  it('names a double application and fails', () => {
    const report = judge(
      input({
        crossCheck: {
          ...input().crossCheck,
          appliedOnce: 99,
          appliedMoreThanOnce: [{ key: 'k-7', chargeId: 'c-7', applications: 2 }],
        },
      }),
    );
    expect(report.holds).toBe(false);
    expect(report.failures[0]).toMatch(
      /^DOUBLE APPLICATION: 1 charge\(s\).*k-7 \(charge c-7\): 2 debit postings/,
    );
  });

  it('fails when a fault it injected never showed in the metrics', () => {
    const base = input();
    const report = judge({ ...base, server: { ...base.server, inboxDuplicates: 0 } });
    expect(report.failures).toEqual([
      'not exercised: inbox duplicates (re-publish absorbed) stayed at 0, so the proof proves less',
    ]);
  });

  it('fails when a charge answered 201 is missing after the database crash, and lists the restarts', () => {
    const report = judge(
      input({
        answered: { answered201: 100, missing: ['c-9'], notGettable: [], notAppliedOnce: [] },
      }),
    );
    expect(report.holds).toBe(false);
    expect(report.failures).toEqual([
      'ACKNOWLEDGED THEN LOST: 1 charge(s) answered 201 are not in the database, e.g. c-9',
    ]);
    expect(formatReport(report)).toMatch(/answered 201, then missing from the database\s+1/);
    expect(formatReport(report)).toMatch(/process restarts\s+relay: 2 {2}postgres: 1/);
  });

  it('fails when the database kill was expected and no restart showed', () => {
    const base = input();
    const report = judge({ ...base, server: { ...base.server, restarts: { relay: 2 } } });
    expect(report.failures).toEqual([
      'not exercised: database restarts after SIGKILL stayed at 0, so the proof proves less',
    ]);
  });

  it('fails when side effects and logical operations differ', () => {
    const base = input();
    const report = judge({ ...base, server: { ...base.server, ledgerApplied: 101 } });
    expect(report.failures).toContain(
      'applied side effects (ledger_applied_total) 101 ≠ logical operations 100',
    );
  });
});

describe('the seeded plan', () => {
  it('is the same for the same seed', () => {
    const draw = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 5 }, () => random.int(1000));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });
});
