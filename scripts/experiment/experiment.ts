import { percentile, round } from '../bench/stats.ts';
import { seededRandom } from '../prove/random.ts';
import type { PolicyOutcome } from './classify.ts';
import {
  type EpisodeOptions,
  type EpisodeResult,
  type ReplicationMode,
  runFailoverEpisode,
} from './episode.ts';
import { createDataTemplate } from './postgres-servers.ts';

/** What every episode of a run shares: the episode's settings less what the run varies. */
export type ExperimentOptions = Omit<EpisodeOptions, 'template' | 'mode' | 'random' | 'label'> & {
  modes: ReplicationMode[];
  seeds: number[];
  /** Failovers (episodes) per seed and mode. */
  failovers: number;
};

export const DEFAULT_EXPERIMENT: ExperimentOptions = {
  modes: ['async', 'sync'],
  seeds: [1, 2, 3],
  failovers: 4,
  clients: 16,
  killWindowMs: [800, 2_500],
  oneWayDelayMs: 20,
  detectMs: 250,
  relayIntervalMs: 50,
  inProgressWindowSeconds: 1,
};

export interface RunSummary {
  mode: ReplicationMode;
  seed: number;
  operations: number;
  failovers: number;
  /** Commits on the killed primary that never reached the replica. */
  unreplicated: number;
  unreplicatedAcknowledged: number;
  unreplicatedPublished: number;
  discardTail: PolicyOutcome;
  recoverTail: PolicyOutcome;
  unanswered: number;
  answeredByB: number;
  flushLagMs: { p50: number | null; p99: number | null; max: number | null; samples: number };
  maxBehindBytes: number;
  /** First-attempt charge latency through A: the commit cost of the replication mode. */
  chargeLatencyMs: { p50: number | null; p99: number | null };
  /** Seconds of load before the kills, summed: operations / this = throughput. */
  loadBeforeKillSeconds: number;
  syncStates: string[];
}

export interface ModeTotals extends Omit<RunSummary, 'seed' | 'syncStates'> {
  seeds: number[];
  per10k: { discardTail: PolicyOutcome; recoverTail: PolicyOutcome; unreplicated: number };
}

export interface ExperimentResult {
  options: ExperimentOptions;
  runs: RunSummary[];
  totals: ModeTotals[];
}

export type Progress = (event: {
  mode: ReplicationMode;
  seed: number;
  failover: number;
  episode: EpisodeResult;
}) => void;

/** Every mode × seed × failover, one episode at a time (two cores: nothing in parallel). */
export async function runFailoverExperiment(
  options: ExperimentOptions,
  onProgress: Progress = () => {},
): Promise<ExperimentResult> {
  const template = await createDataTemplate();
  const runs: RunSummary[] = [];
  const { modes: _modes, seeds: _seeds, failovers: _failovers, ...shared } = options;
  try {
    for (const mode of options.modes) {
      for (const seed of options.seeds) {
        const random = seededRandom(seed);
        const episodes: EpisodeResult[] = [];
        for (let failover = 1; failover <= options.failovers; failover++) {
          const episode = await runFailoverEpisode({
            ...shared,
            template,
            mode,
            random,
            label: `${mode}-s${seed}-f${failover}`,
          });
          episodes.push(episode);
          onProgress({ mode, seed, failover, episode });
        }
        runs.push(summarise(mode, seed, episodes));
      }
    }
  } finally {
    await template.remove();
  }
  return { options, runs, totals: options.modes.map((mode) => totalsOf(mode, runs)) };
}

function summarise(mode: ReplicationMode, seed: number, episodes: EpisodeResult[]): RunSummary {
  const sum = (pick: (episode: EpisodeResult) => number) =>
    episodes.reduce((total, episode) => total + pick(episode), 0);
  const lag = episodes.flatMap((episode) => episode.flushLagMs);
  const latency = episodes.flatMap((episode) => episode.firstAttemptLatencyMs);
  return {
    mode,
    seed,
    operations: sum((e) => e.classification.operations),
    failovers: episodes.length,
    unreplicated: sum((e) => e.classification.tail),
    unreplicatedAcknowledged: sum((e) => e.classification.tailAcknowledged),
    unreplicatedPublished: sum((e) => e.classification.tailPublished),
    discardTail: {
      doubles: sum((e) => e.classification.discardTail.doubles),
      lost: sum((e) => e.classification.discardTail.lost),
    },
    recoverTail: {
      doubles: sum((e) => e.classification.recoverTail.doubles),
      lost: sum((e) => e.classification.recoverTail.lost),
    },
    unanswered: sum((e) => e.classification.unanswered),
    answeredByB: sum((e) => e.answeredByB),
    flushLagMs: {
      p50: round(percentile(lag, 50), 1),
      p99: round(percentile(lag, 99), 1),
      max: round(lag.length > 0 ? Math.max(...lag) : Number.NaN, 1),
      samples: lag.length,
    },
    maxBehindBytes: Math.max(0, ...episodes.map((e) => e.maxBehindBytes)),
    chargeLatencyMs: {
      p50: round(percentile(latency, 50), 1),
      p99: round(percentile(latency, 99), 1),
    },
    loadBeforeKillSeconds: round(sum((e) => e.killAtMs) / 1000, 2) ?? 0,
    syncStates: [...new Set(episodes.flatMap((e) => e.syncStates))],
  };
}

function totalsOf(mode: ReplicationMode, all: RunSummary[]): ModeTotals {
  const runs = all.filter((run) => run.mode === mode);
  const sum = (pick: (run: RunSummary) => number) =>
    runs.reduce((total, run) => total + pick(run), 0);
  const operations = sum((r) => r.operations);
  const per10k = (count: number) => round((count / Math.max(1, operations)) * 10_000, 2) ?? 0;
  const discardTail = {
    doubles: sum((r) => r.discardTail.doubles),
    lost: sum((r) => r.discardTail.lost),
  };
  const recoverTail = {
    doubles: sum((r) => r.recoverTail.doubles),
    lost: sum((r) => r.recoverTail.lost),
  };
  const unreplicated = sum((r) => r.unreplicated);
  const maxOf = (pick: (run: RunSummary) => number | null) =>
    Math.max(...runs.map((run) => pick(run) ?? Number.NaN).filter(Number.isFinite));
  return {
    mode,
    seeds: runs.map((run) => run.seed),
    operations,
    failovers: sum((r) => r.failovers),
    unreplicated,
    unreplicatedAcknowledged: sum((r) => r.unreplicatedAcknowledged),
    unreplicatedPublished: sum((r) => r.unreplicatedPublished),
    discardTail,
    recoverTail,
    unanswered: sum((r) => r.unanswered),
    answeredByB: sum((r) => r.answeredByB),
    // Medians of the per-seed figures; the max is the max.
    flushLagMs: {
      p50: round(
        percentile(runs.map((r) => r.flushLagMs.p50 ?? Number.NaN).filter(Number.isFinite), 50),
        1,
      ),
      p99: round(
        percentile(runs.map((r) => r.flushLagMs.p99 ?? Number.NaN).filter(Number.isFinite), 50),
        1,
      ),
      max: round(
        maxOf((r) => r.flushLagMs.max),
        1,
      ),
      samples: sum((r) => r.flushLagMs.samples),
    },
    maxBehindBytes: Math.max(0, ...runs.map((r) => r.maxBehindBytes)),
    chargeLatencyMs: {
      p50: round(
        percentile(
          runs.map((r) => r.chargeLatencyMs.p50 ?? Number.NaN).filter(Number.isFinite),
          50,
        ),
        1,
      ),
      p99: round(
        percentile(
          runs.map((r) => r.chargeLatencyMs.p99 ?? Number.NaN).filter(Number.isFinite),
          50,
        ),
        1,
      ),
    },
    loadBeforeKillSeconds:
      round(
        sum((r) => r.loadBeforeKillSeconds),
        2,
      ) ?? 0,
    per10k: {
      discardTail: { doubles: per10k(discardTail.doubles), lost: per10k(discardTail.lost) },
      recoverTail: { doubles: per10k(recoverTail.doubles), lost: per10k(recoverTail.lost) },
      unreplicated: per10k(unreplicated),
    },
  };
}
