import { round } from '../bench/stats.ts';
import type { ModeTotals } from './experiment.ts';

const SECONDS_PER_YEAR = 365.25 * 24 * 3600;
export const TARGET_DOUBLE_PROBABILITY = 1e-9;

/**
 * From the asynchronous runs: how many commits a failover leaves behind, and what becomes of
 * them. Expected doubles per failover = λ · W · q, where λ is the charge rate at the failing
 * primary, W the window of commits not yet on the replica when it dies (seconds), and q the
 * share of that tail that turns into a double (the retry lands in the replica and makes a new
 * charge) once the tail is recovered. The per-charge probability divides by λ · (1/f):
 *
 *   P(double per charge) = f · W · q
 *
 * Traffic cancels out to first order: more traffic loses more per failover, but makes more
 * charges to spread it over. W scales with replication lag (W ≈ k · lag), so the model is
 * evaluated at production lags by scaling the measured W by lag / measured lag.
 */
export interface AsyncModelInputs {
  operationsPerSecond: number;
  tailPerFailover: number;
  /** W: seconds of the primary's commits lost with it. */
  windowSeconds: number;
  measuredLagSeconds: number;
  /** Share of the tail that becomes a double if the tail is recovered. */
  doubleShare: number;
  /** Share of the tail that is lost (client told 201) if the tail is discarded. */
  lostShare: number;
  /**
   * Share of the tail that is a double even when it is discarded: its event left through the
   * old primary's relay before the failover, and the client's retry made a second charge.
   */
  escapedDoubleShare: number;
}

export interface ModelFigures {
  inputs: AsyncModelInputs | null;
  /** P(double per charge) at each production lag and failover frequency, per tail policy. */
  asyncDoubleProbability: Array<{
    lagSeconds: number;
    failoversPerYear: number;
    /** The old primary's tail recovered (every committed charge takes effect). */
    probability: number | null;
    /** The tail discarded: only charges whose event had already left count. */
    probabilityTailDiscarded: number | null;
    /** The tail discarded: P(an acknowledged charge is lost). */
    lostProbabilityTailDiscarded: number | null;
  }>;
  /** The failover frequency at which asynchronous replication reaches 10⁻⁹, per lag. */
  asyncMaxFailoversPerYearForTarget: Array<{ lagSeconds: number; failoversPerYear: number | null }>;
  /** Expected doubles per failover at a given traffic, lag 1 s (tail recovered). */
  asyncDoublesPerFailover: Array<{
    chargesPerSecond: number;
    lagSeconds: number;
    doubles: number | null;
  }>;
  /** What the synchronous runs can and cannot show. */
  sync: {
    operations: number;
    failovers: number;
    doublesTailDiscarded: number;
    lostTailDiscarded: number;
    /** Rule of three: the 95 % upper bound on P(double per charge) from 0 seen in n charges. */
    empiricalUpperBoundPerCharge: number | null;
  } | null;
  /** Commit cost: first-attempt charge latency through A, async vs sync. */
  latency: {
    asyncP50Ms: number | null;
    syncP50Ms: number | null;
    addedMs: number | null;
    roundTripMs: number;
    addedRoundTrips: number | null;
  };
}

export const LAGS_SECONDS = [0.05, 0.2, 1];
export const FAILOVERS_PER_YEAR = [1, 4, 12];
export const TRAFFIC_CHARGES_PER_SECOND = [100, 1_000];

export function modelFigures(totals: ModeTotals[], oneWayDelayMs: number): ModelFigures {
  const asyncTotals = totals.find((total) => total.mode === 'async');
  const syncTotals = totals.find((total) => total.mode === 'sync');
  const inputs = asyncTotals ? asyncInputs(asyncTotals) : null;
  const probability = (
    lagSeconds: number,
    failoversPerYear: number,
    share = inputs?.doubleShare ?? 0,
  ): number | null => {
    if (!inputs || inputs.measuredLagSeconds <= 0) return null;
    const window = inputs.windowSeconds * (lagSeconds / inputs.measuredLagSeconds);
    return (failoversPerYear / SECONDS_PER_YEAR) * window * share;
  };
  const roundTripMs = 2 * oneWayDelayMs;
  const asyncP50 = asyncTotals?.chargeLatencyMs.p50 ?? null;
  const syncP50 = syncTotals?.chargeLatencyMs.p50 ?? null;
  const addedMs = asyncP50 !== null && syncP50 !== null ? syncP50 - asyncP50 : null;
  return {
    inputs,
    asyncDoubleProbability: LAGS_SECONDS.flatMap((lagSeconds) =>
      FAILOVERS_PER_YEAR.map((failoversPerYear) => ({
        lagSeconds,
        failoversPerYear,
        probability: significant(probability(lagSeconds, failoversPerYear)),
        probabilityTailDiscarded: significant(
          probability(lagSeconds, failoversPerYear, inputs?.escapedDoubleShare ?? 0),
        ),
        lostProbabilityTailDiscarded: significant(
          probability(lagSeconds, failoversPerYear, inputs?.lostShare ?? 0),
        ),
      })),
    ),
    asyncMaxFailoversPerYearForTarget: LAGS_SECONDS.map((lagSeconds) => {
      const perFailoverPerYear = probability(lagSeconds, 1);
      return {
        lagSeconds,
        failoversPerYear:
          perFailoverPerYear && perFailoverPerYear > 0
            ? significant(TARGET_DOUBLE_PROBABILITY / perFailoverPerYear)
            : null,
      };
    }),
    asyncDoublesPerFailover: TRAFFIC_CHARGES_PER_SECOND.map((chargesPerSecond) => ({
      chargesPerSecond,
      lagSeconds: 1,
      doubles:
        inputs && inputs.measuredLagSeconds > 0
          ? significant(
              chargesPerSecond *
                inputs.windowSeconds *
                (1 / inputs.measuredLagSeconds) *
                inputs.doubleShare,
            )
          : null,
    })),
    sync: syncTotals
      ? {
          operations: syncTotals.operations,
          failovers: syncTotals.failovers,
          doublesTailDiscarded: syncTotals.discardTail.doubles,
          lostTailDiscarded: syncTotals.discardTail.lost,
          empiricalUpperBoundPerCharge:
            syncTotals.discardTail.doubles === 0 && syncTotals.operations > 0
              ? significant(3 / syncTotals.operations)
              : null,
        }
      : null,
    latency: {
      asyncP50Ms: asyncP50,
      syncP50Ms: syncP50,
      addedMs: round(addedMs, 1),
      roundTripMs,
      addedRoundTrips: addedMs !== null ? round(addedMs / roundTripMs, 1) : null,
    },
  };
}

function asyncInputs(totals: ModeTotals): AsyncModelInputs | null {
  if (totals.failovers === 0 || totals.loadBeforeKillSeconds <= 0) return null;
  const operationsPerSecond = totals.operations / totals.loadBeforeKillSeconds;
  const tailPerFailover = totals.unreplicated / totals.failovers;
  return {
    operationsPerSecond: round(operationsPerSecond, 1) ?? 0,
    tailPerFailover: round(tailPerFailover, 2) ?? 0,
    windowSeconds: significant(tailPerFailover / operationsPerSecond) ?? 0,
    measuredLagSeconds: (totals.flushLagMs.p50 ?? 0) / 1000,
    doubleShare:
      totals.unreplicated > 0
        ? (round(totals.recoverTail.doubles / totals.unreplicated, 3) ?? 0)
        : 0,
    lostShare:
      totals.unreplicated > 0 ? (round(totals.discardTail.lost / totals.unreplicated, 3) ?? 0) : 0,
    escapedDoubleShare:
      totals.unreplicated > 0
        ? (round(totals.discardTail.doubles / totals.unreplicated, 3) ?? 0)
        : 0,
  };
}

function significant(value: number | null): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  return Number(value.toPrecision(3));
}
