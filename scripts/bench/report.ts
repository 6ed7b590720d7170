/** Targets, the results table and the JSON document of `npm run bench`. */
import type { ChargeResult } from './charge.ts';
import type { CpuSplit } from './cpu-usage.ts';

export type Metrics = Record<string, number | null>;

export interface Target {
  key: string;
  label: string;
  unit: string;
  /** What the target is, for the table. */
  describe(metrics: Metrics): string;
  /** true: met; false: missed; null: no figure. */
  check(metrics: Metrics): boolean | null;
}

const atMost = (limit: number) => (value: number | null) =>
  value === null ? null : value <= limit;
const atLeast = (limit: number) => (value: number | null) =>
  value === null ? null : value >= limit;

export const BUNDLE_LIMIT_BYTES = 1_000_000;

export const TARGETS: Target[] = [
  {
    key: 'charge_vs_limit_ratio',
    label: 'charge_tps / pg_limit_tps',
    unit: '',
    describe: () => '≥ 0.4',
    check: (m) => atLeast(0.4)(m.charge_vs_limit_ratio ?? null),
  },
  {
    key: 'charge_p99_ms',
    label: 'charge p99 at 50 % load',
    unit: 'ms',
    describe: () => '≤ 15',
    check: (m) => atMost(15)(m.charge_p99_ms ?? null),
  },
  {
    key: 'replay_redis_p50_ms',
    label: 'replay p50, Redis tier',
    unit: 'ms',
    describe: (m) =>
      m.replay_p50_ms == null
        ? '≤ ½ Postgres p50'
        : `≤ ½ × ${m.replay_p50_ms} = ${(m.replay_p50_ms / 2).toFixed(2)}`,
    check: (m) =>
      m.replay_redis_p50_ms == null || m.replay_p50_ms == null
        ? null
        : m.replay_redis_p50_ms <= m.replay_p50_ms / 2,
  },
  {
    key: 'relay_unthrottled_eps',
    label: 'relay, unthrottled',
    unit: 'events/s',
    describe: () => '≥ 2000',
    check: (m) => atLeast(2000)(m.relay_unthrottled_eps ?? null),
  },
  {
    key: 'backlog_consumer_peak_ratio',
    label: 'backlog: consumer peak / limit',
    unit: '',
    describe: () => '≤ 1.1',
    check: (m) => atMost(1.1)(m.backlog_consumer_peak_ratio ?? null),
  },
  {
    key: 'e2e_p50_ms',
    label: 'e2e 201 → ledger p50',
    unit: 'ms',
    describe: () => '≤ 100',
    check: (m) => atMost(100)(m.e2e_p50_ms ?? null),
  },
  {
    key: 'e2e_p99_ms',
    label: 'e2e 201 → ledger p99',
    unit: 'ms',
    describe: () => '≤ 500',
    check: (m) => atMost(500)(m.e2e_p99_ms ?? null),
  },
  {
    key: 'charge_bundle_bytes',
    label: 'charge bundle',
    unit: 'bytes',
    describe: () => `≤ ${BUNDLE_LIMIT_BYTES.toLocaleString('en')} (1 MB)`,
    check: (m) => atMost(BUNDLE_LIMIT_BYTES)(m.charge_bundle_bytes ?? null),
  },
  {
    key: 'charge_init_ms',
    label: 'charge init (import)',
    unit: 'ms',
    describe: () => '≤ 150',
    check: (m) => atMost(150)(m.charge_init_ms ?? null),
  },
];

/** The figures without a target of their own, in table order. */
export const INFORMATIONAL: { key: string; label: string; unit: string }[] = [
  { key: 'pg_limit_tps', label: 'pg limit (3 statements/charge)', unit: 'charges/s' },
  { key: 'charge_tps', label: 'charge at saturation (HTTP)', unit: 'charges/s' },
  { key: 'charge_concurrency', label: 'concurrency (HTTP = pg connections)', unit: '' },
  { key: 'charge_p50_ms', label: 'charge p50 at 50 % load', unit: 'ms' },
  { key: 'replay_p50_ms', label: 'replay p50, Postgres only', unit: 'ms' },
  { key: 'replay_p99_ms', label: 'replay p99, Postgres only', unit: 'ms' },
  { key: 'replay_redis_p99_ms', label: 'replay p99, Redis tier', unit: 'ms' },
  { key: 'health_floor_p50_ms', label: 'GET /health p50 (gateway floor)', unit: 'ms' },
  { key: 'replay_redis_excess_ratio', label: 'replay above floor, Redis / Postgres', unit: '' },
  { key: 'backlog_consumer_peak_per_second', label: 'backlog: consumer peak', unit: 'applied/s' },
  { key: 'backlog_limit', label: 'backlog: relay limit', unit: 'events/s' },
  { key: 'backlog_drain_seconds', label: 'backlog: drained in', unit: 's' },
  { key: 'e2e_relay_wait_p50_ms', label: 'e2e: 201 → relay publish p50', unit: 'ms' },
  { key: 'e2e_queue_to_ledger_p50_ms', label: 'e2e: publish → ledger p50', unit: 'ms' },
  { key: 'charge_init_no_source_maps_ms', label: 'charge init without source maps', unit: 'ms' },
];

export function evaluate(
  metrics: Metrics,
): Record<string, { target: string; pass: boolean | null }> {
  return Object.fromEntries(
    TARGETS.map((target) => [
      target.key,
      { target: target.describe(metrics), pass: target.check(metrics) },
    ]),
  );
}

function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'null';
  if (Number.isInteger(value)) return value.toLocaleString('en');
  return value.toLocaleString('en', { maximumFractionDigits: 2 });
}

/** A plain-text table: every target with PASS/MISS, then the supporting figures. */
export function formatTable(metrics: Metrics, notes: Record<string, string>): string {
  const rows: string[][] = [['metric', 'key', 'value', 'unit', 'target', 'result']];
  for (const target of TARGETS) {
    const pass = target.check(metrics);
    rows.push([
      target.label,
      target.key,
      formatValue(metrics[target.key]),
      target.unit,
      target.describe(metrics),
      pass === null ? 'n/a' : pass ? 'PASS' : 'MISS',
    ]);
  }
  rows.push(['', '', '', '', '', '']);
  for (const info of INFORMATIONAL) {
    rows.push([info.label, info.key, formatValue(metrics[info.key]), info.unit, '', '']);
  }
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  const lines = rows.map((row) =>
    row
      .map((cell, column) =>
        column === 2 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('  '));
  const noteLines = Object.entries(notes).map(([key, note]) => `  ${key}: ${note}`);
  return [...lines, ...(noteLines.length > 0 ? ['', 'notes:', ...noteLines] : [])].join('\n');
}

const ms = (value: number | null) => (value === null ? '   n/a' : value.toFixed(3).padStart(6));

function cpuLine(label: string, split: CpuSplit | undefined): string {
  if (!split) return `  ${label.padEnd(34)} n/a`;
  const percent = (value: number | null) =>
    value === null ? 'n/a' : `${(value * 100).toFixed(0)} %`;
  const busy = `${percent(split.machineBusy)} (not ours: ${percent(split.otherShare)})`;
  const kernel =
    split.apiKernelShare === null || split.apiMsPerOp === 0
      ? ''
      : ` (${Math.round(split.apiKernelShare * 100)} % kernel)`;
  return `  ${label.padEnd(34)} api ${ms(split.apiMsPerOp)}${kernel.padEnd(14)}  postgres ${ms(split.postgresMsPerOp)}  bench ${ms(split.benchMsPerOp)}  other ${ms(split.otherMsPerOp)}  machine busy ${busy}`;
}

/** Where the cores went: CPU ms per charge in the API, PostgreSQL, the bench, everything else. */
export function formatCpu(sweep: ChargeResult['sweep'], latency: ChargeResult['latency']): string {
  const lines = [
    'CPU ms per charge (from /proc; "other" is work on the machine that is not ours):',
  ];
  for (const point of sweep) {
    lines.push(
      cpuLine(`pg loop c=${point.concurrency} (${point.pgLimitTps.toFixed(0)}/s)`, point.pgLoopCpu),
    );
    lines.push(
      cpuLine(`HTTP c=${point.concurrency} (${point.chargeTps.toFixed(0)}/s)`, point.httpCpu),
    );
  }
  lines.push(cpuLine(`HTTP open loop (${latency.rate.toFixed(0)}/s)`, latency.cpu));
  lines.push(
    `  p99 per fifth of the open-loop run: ${latency.blockP99Ms.map((v) => v.toFixed(1)).join(' ')} ms; ` +
      `send lag p99 ${latency.sendLagP99Ms.toFixed(1)} ms, max ${latency.sendLagMaxMs.toFixed(1)} ms`,
  );
  return lines.join('\n');
}
