/**
 * `npm run bench`: throughput and latency of the payment path on this machine, each figure
 * against its target (issue 9). Runs the real local stack: embedded PostgreSQL (or
 * DATABASE_URL's server), embedded SQS, the API, relay and consumer processes, and a
 * redis-server of its own for the Redis tier. Prints a table; `--json FILE` writes the figures.
 * Exit code 1 if a phase failed (its figures are null); missed targets do not fail the run.
 */

import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { RELAY_SETTINGS } from '../../functions/relay/relay-settings.ts';
import { measureChargeBundle } from './bundle.ts';
import { type ChargeResult, measureCharge, measureReplay } from './charge.ts';
import { formatProfile, type ProfileSummary } from './cpu-profile.ts';
import { type BenchOptions, HELP, parseBenchOptions } from './options.ts';
import {
  measureBacklog,
  measureEndToEnd,
  measureUnthrottledRelay,
  type PipelineHandles,
} from './pipeline.ts';
import { evaluate, formatCpu, formatTable, type Metrics } from './report.ts';
import { BenchStack } from './stack.ts';
import { round } from './stats.ts';

/** Above this share of the cores taken by others' work, a latency figure is flagged. */
const DISTURBED_SHARE = 0.1;

/** Every key the JSON always has (null when not measured; `notes` says why). */
export const METRIC_KEYS = [
  'pg_limit_tps',
  'charge_tps',
  'charge_vs_limit_ratio',
  'charge_concurrency',
  'charge_p50_ms',
  'charge_p99_ms',
  'replay_p50_ms',
  'replay_p99_ms',
  'replay_redis_p50_ms',
  'replay_redis_p99_ms',
  'health_floor_p50_ms',
  'replay_redis_excess_ratio',
  'relay_unthrottled_eps',
  'backlog_consumer_peak_ratio',
  'backlog_consumer_peak_per_second',
  'backlog_limit',
  'backlog_drain_seconds',
  'e2e_p50_ms',
  'e2e_p99_ms',
  'e2e_relay_wait_p50_ms',
  'e2e_queue_to_ledger_p50_ms',
  'charge_bundle_bytes',
  'charge_init_ms',
  'charge_init_no_source_maps_ms',
] as const;

const parsed = (() => {
  try {
    return parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    process.exit(2);
  }
})();
if (parsed === 'help') {
  console.log(HELP);
  process.exit(0);
}
const options: BenchOptions = parsed;

const log = (line: string) => console.error(line);
const metrics: Metrics = Object.fromEntries(METRIC_KEYS.map((key) => [key, null]));
const notes: Record<string, string> = {};
const details: Record<string, unknown> = {};
const profiles: Record<string, ProfileSummary> = {};
let failed = false;

async function phase(name: string, keys: string[], work: () => Promise<void>): Promise<void> {
  if (options.skip.has(name)) {
    for (const key of keys) notes[key] ??= `skipped (--skip ${name})`;
    return;
  }
  log(`• ${name}`);
  const started = performance.now();
  try {
    await work();
    log(`  ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    failed = true;
    const message = error instanceof Error ? error.message : String(error);
    log(`  ${name} FAILED: ${message}`);
    for (const key of keys) notes[key] = `${name} phase failed: ${message.split('\n')[0]}`;
  }
}

const startedAt = new Date();
log(
  `bench ${options.quick ? '(quick) ' : ''}on ${cpus().length} cores, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const stack = await BenchStack.start(log);
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping`);
    void stack.stop().finally(() => process.exit(130));
  });
}

try {
  await phase(
    'bundle',
    ['charge_bundle_bytes', 'charge_init_ms', 'charge_init_no_source_maps_ms'],
    async () => {
      const bundle = await measureChargeBundle({
        runs: options.initRuns,
        // Never connected to: the pool opens connections on first use, not at init.
        databaseUrl: Object.assign(new URL(stack.adminUrl), {
          pathname: '/bench_never_connected',
        }).toString(),
      });
      metrics.charge_bundle_bytes = bundle.bundleBytes;
      metrics.charge_init_ms = round(bundle.initMs, 1);
      metrics.charge_init_no_source_maps_ms = round(bundle.initMsNoSourceMaps, 1);
      details.bundle = bundle;
      notes.charge_bundle_bytes = `largest: ${bundle.largestInputs
        .slice(0, 4)
        .map(({ input, bytes }) => `${input} ${Math.round(bytes / 1000)} kB`)
        .join(
          ', ',
        )}; loaded from outside the bundle: ${bundle.externalImports.join(', ') || 'nothing'}`;
    },
  );

  let chargeResult: ChargeResult | undefined;
  await phase(
    'charge',
    [
      'pg_limit_tps',
      'charge_tps',
      'charge_vs_limit_ratio',
      'charge_concurrency',
      'charge_p50_ms',
      'charge_p99_ms',
    ],
    async () => {
      chargeResult = await measureCharge(
        stack,
        {
          concurrency: options.concurrency,
          rounds: options.rounds,
          warmupMs: options.warmupSeconds * 1000,
          durationMs: options.durationSeconds * 1000,
          latencySeconds: options.latencySeconds,
          profileDir: options.profileDir,
        },
        log,
      );
      const { best, latency } = chargeResult;
      metrics.pg_limit_tps = round(best.pgLimitTps, 0);
      metrics.charge_tps = round(best.chargeTps, 0);
      metrics.charge_vs_limit_ratio = round(best.ratio, 3);
      metrics.charge_concurrency = best.concurrency;
      metrics.charge_p50_ms = round(latency.p50Ms, 2);
      metrics.charge_p99_ms = round(latency.p99Ms, 2);
      details.charge = {
        sweep: chargeResult.sweep,
        latency: chargeResult.latency,
      };
      if (latency.errors > 0)
        notes.charge_p99_ms = `${latency.errors} requests failed at 50 % load`;
      const disturbed = (share: number | null | undefined) => (share ?? 0) > DISTURBED_SHARE;
      if (disturbed(latency.cpu.otherShare)) {
        notes.charge_p99_ms = `${Math.round((latency.cpu.otherShare ?? 0) * 100)} % of the machine was busy with work that is not ours during the 50 % load run: the tail is the machine's, re-run when it is quiet (p99 per fifth: ${latency.blockP99Ms.map((v) => v.toFixed(1)).join(' ')} ms)`;
      }
      if (disturbed(best.httpCpu?.otherShare) || disturbed(best.pgLoopCpu?.otherShare)) {
        notes.charge_vs_limit_ratio = `other work on the machine took ${Math.round((best.httpCpu?.otherShare ?? 0) * 100)} % (HTTP) / ${Math.round((best.pgLoopCpu?.otherShare ?? 0) * 100)} % (pg loop) of the cores during the best rounds`;
      }
      if (chargeResult.profile)
        profiles['API during charge saturation + 50 % load'] = chargeResult.profile;
    },
  );

  await phase(
    'replay',
    [
      'replay_p50_ms',
      'replay_p99_ms',
      'replay_redis_p50_ms',
      'replay_redis_p99_ms',
      'health_floor_p50_ms',
      'replay_redis_excess_ratio',
    ],
    async () => {
      const replay = await measureReplay(
        stack,
        {
          keys: options.replayKeys,
          requests: options.replayRequests,
          rate: options.replayRate,
          profileDir: options.profileDir,
        },
        log,
      );
      metrics.replay_p50_ms = round(replay.postgres.p50Ms, 2);
      metrics.replay_p99_ms = round(replay.postgres.p99Ms, 2);
      metrics.replay_redis_p50_ms = round(replay.redis?.p50Ms, 2);
      metrics.replay_redis_p99_ms = round(replay.redis?.p99Ms, 2);
      metrics.health_floor_p50_ms = round(replay.floor.p50Ms, 2);
      if (replay.redis) {
        // What each tier adds above the gateway floor: the part the tiers can change.
        metrics.replay_redis_excess_ratio = round(
          (replay.redis.p50Ms - replay.floor.p50Ms) / (replay.postgres.p50Ms - replay.floor.p50Ms),
          2,
        );
      }
      if (replay.redisNote) {
        notes.replay_redis_p50_ms = replay.redisNote;
        notes.replay_redis_p99_ms = replay.redisNote;
      }
      const { profiles: replayProfiles, ...replayFigures } = replay;
      details.replay = replayFigures;
      if (replayProfiles.postgres)
        profiles['API, replays, Postgres only'] = replayProfiles.postgres;
      if (replayProfiles.redis) profiles['API, replays, Redis tier'] = replayProfiles.redis;
    },
  );

  await phase('relay', ['relay_unthrottled_eps'], async () => {
    const relay = await measureUnthrottledRelay(stack, options.relayBacklog);
    metrics.relay_unthrottled_eps = round(relay.eventsPerSecond, 0);
    details.relay = relay;
  });

  let pipeline: PipelineHandles | undefined;
  await phase(
    'backlog',
    [
      'backlog_consumer_peak_ratio',
      'backlog_consumer_peak_per_second',
      'backlog_limit',
      'backlog_drain_seconds',
    ],
    async () => {
      const backlog = await measureBacklog(stack, {
        backlog: options.backlog,
        limit: options.backlogLimit,
        consumerPollers: options.consumerPollers,
      });
      pipeline = backlog;
      metrics.backlog_consumer_peak_ratio = round(backlog.peakRatio, 3);
      metrics.backlog_consumer_peak_per_second = backlog.peakPerSecond;
      metrics.backlog_limit = backlog.limit;
      metrics.backlog_drain_seconds = round(backlog.drainSeconds, 1);
      const series = backlog.appliedPerSecond;
      const peakAt = series.indexOf(backlog.peakPerSecond);
      notes.backlog_consumer_peak_ratio =
        `applied per second around the peak (second ${peakAt + 1} of ${series.length}): ` +
        `${series.slice(Math.max(0, peakAt - 3), peakAt + 3).join(' ')}; ` +
        'a dip before a peak is a consumer stall followed by catch-up from the queue';
      details.backlog = {
        backlog: backlog.backlog,
        limit: backlog.limit,
        drainSeconds: backlog.drainSeconds,
        appliedPerSecond: backlog.appliedPerSecond,
        publishedPerSecond: backlog.publishedPerSecond,
      };
    },
  );

  await phase(
    'e2e',
    ['e2e_p50_ms', 'e2e_p99_ms', 'e2e_relay_wait_p50_ms', 'e2e_queue_to_ledger_p50_ms'],
    async () => {
      // The relay and consumer of the backlog phase, or new ones.
      if (!pipeline) {
        const db = await stack.createDatabase('e2e');
        const queues = await stack.createQueues('e2e');
        await stack.startConsumer(db.url, queues);
        const relay = await stack.startRelay(db.url, queues);
        pipeline = { databaseUrl: db.url, pool: db.pool, queues, relay };
      }
      const e2e = await measureEndToEnd(stack, pipeline, {
        charges: options.e2eCharges,
        ratePerSecond: options.e2eRate,
      });
      metrics.e2e_p50_ms = round(e2e.p50Ms, 1);
      metrics.e2e_p99_ms = round(e2e.p99Ms, 1);
      metrics.e2e_relay_wait_p50_ms = round(e2e.toPublishedP50Ms, 1);
      metrics.e2e_queue_to_ledger_p50_ms = round(e2e.publishedToLedgerP50Ms, 1);
      details.e2e = e2e;
      notes.e2e_p50_ms =
        `relay with its AWS settings (always draining, idle poll ${RELAY_SETTINGS.idlePollMinMs}–${RELAY_SETTINGS.idlePollMaxMs} ms): 201 → relay publish p50 ${e2e.toPublishedP50Ms.toFixed(0)} ms, ` +
        `publish → ledger p50 ${e2e.publishedToLedgerP50Ms.toFixed(0)} ms`;
    },
  );
} finally {
  if (!interrupted) await stack.stop();
}

const targets = evaluate(metrics);
console.log(formatTable(metrics, notes));
const chargeDetails = details.charge as
  | { sweep: ChargeResult['sweep']; latency: ChargeResult['latency'] }
  | undefined;
if (chargeDetails) console.log(`\n${formatCpu(chargeDetails.sweep, chargeDetails.latency)}`);
for (const [label, profile] of Object.entries(profiles)) {
  console.log(`\n${formatProfile(label, profile)}`);
}
if (Object.keys(profiles).length > 0) details.profiles = profiles;
if (options.json) {
  const document = {
    ...metrics,
    targets,
    notes,
    details,
    params: {
      ...options,
      skip: [...options.skip],
    },
    machine: { cpus: cpus().length, loadavg_at_end: loadavg(), node: process.version },
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
  };
  await writeFile(options.json, `${JSON.stringify(document, null, 2)}\n`);
  log(`wrote ${options.json}`);
}
process.exit(failed ? 1 : 0);
