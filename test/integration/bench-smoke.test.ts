import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const BENCH = fileURLToPath(new URL('../../scripts/bench/main.ts', import.meta.url));

/** Every figure the bench reports; null is allowed only where the bench documents why. */
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
/** The Redis figures are null (with a note) when there is no redis-server on the machine. */
const NULLABLE_WITH_NOTE = new Set(['replay_redis_p50_ms', 'replay_redis_p99_ms']);

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
  it('reports every figure as a finite number, or null with a note where that is documented', () => {
    const notes = (result.notes ?? {}) as Record<string, string>;
    for (const key of KEYS) {
      expect(result, `${key} missing\n${stderr}`).toHaveProperty(key);
      const value = result[key];
      if (value === null && NULLABLE_WITH_NOTE.has(key)) {
        expect(notes[key], `${key} is null without a reason`).toEqual(expect.any(String));
        continue;
      }
      expect(Number.isFinite(value), `${key} = ${String(value)}: ${notes[key] ?? ''}`).toBe(true);
    }
  });

  it('judges every target and measured the same statements the handler runs', () => {
    const targets = result.targets as Record<string, { target: string; pass: boolean | null }>;
    for (const key of [
      'charge_vs_limit_ratio',
      'charge_p99_ms',
      'relay_unthrottled_eps',
      'backlog_consumer_peak_ratio',
      'e2e_p50_ms',
      'charge_bundle_bytes',
      'charge_init_ms',
    ]) {
      expect(typeof targets[key]?.pass, key).toBe('boolean');
    }
  });
});
