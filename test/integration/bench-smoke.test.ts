import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Metrics, TARGETS } from '../../scripts/bench/report.ts';

const BENCH = fileURLToPath(new URL('../../scripts/bench/main.ts', import.meta.url));

/** Every figure the bench reports. */
const KEYS = [
  'pg_limit_tps',
  'charge_tps',
  'charge_vs_limit_ratio',
  'charge_p50_ms',
  'charge_p99_ms',
  'replay_p50_ms',
  'replay_p99_ms',
  'replay_redis_p50_ms',
  'replay_redis_p99_ms',
  'relay_unthrottled_eps',
  'backlog_consumer_peak_ratio',
  'e2e_p50_ms',
  'e2e_p99_ms',
  'charge_bundle_bytes',
  'charge_init_ms',
];

let dir: string;
let result: Record<string, unknown>;
let stderr: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
  const json = join(dir, 'bench.json');
  // Tiny sizes: this checks that every phase runs and reports, not the numbers.
  const run = await promisify(execFile)(
    process.execPath,
    [
      BENCH,
      '--quick',
      '--json',
      json,
      '--concurrency',
      '4',
      '--duration',
      '1',
      '--warmup',
      '0.3',
      '--latency-seconds',
      '1',
      '--replay-keys',
      '20',
      '--replay-requests',
      '80',
      '--relay-backlog',
      '500',
      '--backlog',
      '500',
      '--e2e-charges',
      '10',
      '--init-runs',
      '2',
    ],
    {
      // The test server: the bench creates and drops its own databases on it.
      env: { ...process.env, DATABASE_URL: inject('adminUrl') },
      timeout: 55_000,
      maxBuffer: 10 * 1024 * 1024,
    },
  ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`bench failed: ${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
  });
  stderr = run.stderr;
  result = JSON.parse(await readFile(json, 'utf8')) as Record<string, unknown>;
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run bench (smoke, tiny sizes)', () => {
  // The Redis figures need the redis-server binary (Debian package redis-server); without
  // it the bench reports them null with a note, and this test fails quoting that note.
  it('reports every figure as a finite number', () => {
    const notes = (result.notes ?? {}) as Record<string, string>;
    for (const key of KEYS) {
      expect(result, `${key} missing\n${stderr}`).toHaveProperty(key);
      const value = result[key];
      expect(Number.isFinite(value), `${key} = ${String(value)}: ${notes[key] ?? ''}`).toBe(true);
    }
  });

  it('judges every target, each verdict agreeing with the figure the JSON reports', () => {
    const figures = result as Metrics;
    const verdicts = result.targets as Record<string, { target: string; pass: boolean | null }>;
    expect(Object.keys(verdicts).sort()).toEqual(TARGETS.map((target) => target.key).sort());
    for (const target of TARGETS) {
      const verdict = verdicts[target.key];
      expect(verdict?.target, target.key).toBe(target.describe(figures));
      // Every figure is reported (above), so every target has a PASS or a MISS, not n/a.
      expect(verdict?.pass, target.key).toBe(target.check(figures));
      expect(verdict?.pass, `${target.key} has no verdict`).not.toBeNull();
    }
  });
});
