import { describe, expect, it } from 'vitest';
import type { ModeTotals } from '../../scripts/experiment/experiment.ts';
import { modelFigures } from '../../scripts/experiment/model.ts';

function asyncTotals(overrides: Partial<ModeTotals> = {}): ModeTotals {
  return {
    mode: 'async',
    seeds: [1],
    operations: 1_000,
    failovers: 10,
    unreplicated: 100,
    unreplicatedAcknowledged: 40,
    unreplicatedPublished: 0,
    discardTail: { doubles: 10, lost: 40 },
    recoverTail: { doubles: 50, lost: 0 },
    unanswered: 0,
    answeredByB: 100,
    flushLagMs: { p50: 100, p99: 200, max: 300, samples: 50 },
    maxBehindBytes: 0,
    chargeLatencyMs: { p50: 20, p99: 40 },
    loadBeforeKillSeconds: 10,
    per10k: {
      discardTail: { doubles: 0, lost: 0 },
      recoverTail: { doubles: 0, lost: 0 },
      unreplicated: 0,
    },
    ...overrides,
  };
}

describe('the failover model', () => {
  it('derives P(double per charge) = f · W · q from the measured tail, scaled by lag', () => {
    // 100 ops/s, 10 tail commits per failover → W = 0.1 s at 100 ms lag; q = 0.5 recovered.
    const model = modelFigures([asyncTotals()], 20);
    expect(model.inputs).toMatchObject({
      operationsPerSecond: 100,
      windowSeconds: 0.1,
      doubleShare: 0.5,
      lostShare: 0.4,
      escapedDoubleShare: 0.1,
    });
    const oneSecondOncePerYear = model.asyncDoubleProbability.find(
      (row) => row.lagSeconds === 1 && row.failoversPerYear === 1,
    );
    // W at 1 s of lag is 1 s; f = 1 / year.
    const perYear = 1 / (365.25 * 24 * 3600);
    // Figures are rounded to three significant digits.
    const relative = (value: number | null | undefined, expected: number) =>
      (value ?? Number.NaN) / expected;
    expect(relative(oneSecondOncePerYear?.probability, perYear * 0.5)).toBeCloseTo(1, 2);
    expect(relative(oneSecondOncePerYear?.probabilityTailDiscarded, perYear * 0.1)).toBeCloseTo(
      1,
      2,
    );
    expect(relative(oneSecondOncePerYear?.lostProbabilityTailDiscarded, perYear * 0.4)).toBeCloseTo(
      1,
      2,
    );
  });

  it('reports the added commit latency in round trips of the link', () => {
    const model = modelFigures(
      [asyncTotals(), { ...asyncTotals(), mode: 'sync', chargeLatencyMs: { p50: 140, p99: 200 } }],
      20,
    );
    expect(model.latency).toMatchObject({ addedMs: 120, roundTripMs: 40, addedRoundTrips: 3 });
  });
});
