import type { ExperimentResult, RunSummary } from './experiment.ts';
import type { ModelFigures } from './model.ts';

const HEADER = [
  'mode',
  'seed',
  'logical ops',
  'failovers',
  'flush lag p50/p99/max ms',
  'unreplicated (acked)',
  'doubles, tail discarded',
  'lost, tail discarded',
  'doubles, tail recovered',
  'lost, tail recovered',
  'charge p50 ms',
];

/** Markdown table: one row per mode and seed, then each mode's total and rates per 10,000. */
export function formatTable(result: ExperimentResult): string {
  const rows: string[][] = [];
  for (const run of result.runs) rows.push(rowOf(run, String(run.seed)));
  for (const total of result.totals) {
    rows.push(rowOf({ ...total, seed: 0, syncStates: [] }, `all (${total.seeds.join(',')})`));
    rows.push([
      total.mode,
      'per 10,000 ops',
      '10,000',
      per10k(total.failovers, total.operations),
      '',
      `${total.per10k.unreplicated}`,
      `${total.per10k.discardTail.doubles}`,
      `${total.per10k.discardTail.lost}`,
      `${total.per10k.recoverTail.doubles}`,
      `${total.per10k.recoverTail.lost}`,
      '',
    ]);
  }
  return [HEADER, HEADER.map(() => '---'), ...rows]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
}

function rowOf(run: RunSummary, seed: string): string[] {
  const lag = run.flushLagMs;
  return [
    run.mode,
    seed,
    String(run.operations),
    String(run.failovers),
    `${lag.p50 ?? '–'} / ${lag.p99 ?? '–'} / ${lag.max ?? '–'}`,
    `${run.unreplicated} (${run.unreplicatedAcknowledged})`,
    String(run.discardTail.doubles),
    String(run.discardTail.lost),
    String(run.recoverTail.doubles),
    String(run.recoverTail.lost),
    String(run.chargeLatencyMs.p50 ?? '–'),
  ];
}

function per10k(count: number, operations: number): string {
  return operations > 0 ? ((count / operations) * 10_000).toFixed(1) : '–';
}

export function formatModel(model: ModelFigures): string {
  const lines: string[] = ['Model (docs/GLOBAL.md): P(double per charge) = f · W · q'];
  const inputs = model.inputs;
  if (inputs) {
    lines.push(
      `  measured (async): ${inputs.operationsPerSecond} charges/s through A, ` +
        `${inputs.tailPerFailover} unreplicated commits per failover → W = ${inputs.windowSeconds} s ` +
        `at a flush lag of ${(inputs.measuredLagSeconds * 1000).toFixed(0)} ms; ` +
        `q = ${inputs.doubleShare} of the tail becomes a double if recovered, ` +
        `${inputs.lostShare} is lost if discarded, ${inputs.escapedDoubleShare} is a double ` +
        'even if discarded (its event had left through the relay)',
    );
  }
  lines.push(
    '  asynchronous, per charge: P(double) tail recovered / P(double) tail discarded / P(lost) tail discarded',
  );
  for (const row of model.asyncDoubleProbability) {
    lines.push(
      `    lag ${row.lagSeconds * 1000} ms, ${row.failoversPerYear} failover(s)/year: ` +
        `${row.probability ?? '–'} / ${row.probabilityTailDiscarded ?? '–'} / ${row.lostProbabilityTailDiscarded ?? '–'}`,
    );
  }
  for (const row of model.asyncMaxFailoversPerYearForTarget) {
    lines.push(
      `    ≤ 1e-9 (tail recovered) needs ≤ ${row.failoversPerYear ?? '–'} failovers/year at lag ${row.lagSeconds * 1000} ms`,
    );
  }
  for (const row of model.asyncDoublesPerFailover) {
    lines.push(
      `    doubles per failover at ${row.chargesPerSecond} charges/s, lag ${row.lagSeconds * 1000} ms: ${row.doubles ?? '–'}`,
    );
  }
  if (model.sync) {
    lines.push(
      `  synchronous, tail discarded: ${model.sync.doublesTailDiscarded} doubles, ${model.sync.lostTailDiscarded} lost ` +
        `in ${model.sync.operations} ops / ${model.sync.failovers} failovers ` +
        `(this sample alone bounds P below ${model.sync.empiricalUpperBoundPerCharge ?? '–'} at 95 %; ` +
        '10⁻⁹ rests on the mechanism, see docs/GLOBAL.md)',
    );
  }
  const latency = model.latency;
  lines.push(
    `  commit cost: charge p50 ${latency.asyncP50Ms ?? '–'} ms async vs ${latency.syncP50Ms ?? '–'} ms sync: ` +
      `+${latency.addedMs ?? '–'} ms = ${latency.addedRoundTrips ?? '–'} × the ${latency.roundTripMs} ms round trip`,
  );
  return lines.join('\n');
}
