import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProofReport } from '../../scripts/prove/report.ts';
import { createTestDatabase } from '../support/database.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prove-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `npm run prove -- …args`; resolves with its exit code, output and JSON report. */
async function runProve(
  args: string[],
): Promise<{ code: number | string; output: string; report: ProofReport }> {
  const json = join(dir, `report-${Date.now()}.json`);
  const child = spawn(
    process.execPath,
    ['scripts/prove/main.ts', '--json', json, '--seed', '7', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | string>((resolve) =>
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? signal ?? 'unknown')),
  );
  const report = JSON.parse(await readFile(json, 'utf8').catch(() => 'null')) as ProofReport;
  return { code, output, report };
}

/** `npm run prove` on a fresh test database of the shared test server (never killed). */
async function prove(args: string[]) {
  const db = await createTestDatabase();
  return { ...(await runProve(['--database-url', db.url, ...args])), db };
}

describe('npm run prove', () => {
  it('proves every logical charge applied exactly once through duplicates, bursts, lost responses, 422s and relay SIGKILLs', async () => {
    const { code, output, report, db } = await prove(['--ops', '150', '--concurrency', '10']);
    try {
      expect(code, output).toBe(0);
      expect(output).toContain('applied side effects: 150 / 150');
      expect(report.holds).toBe(true);
      expect(report.server.ledgerApplied).toBe(150);
      expect(report.server.chargeCreated).toBe(150);
      expect(report.server.idempotency.replay).toBeGreaterThan(0);
      expect(report.server.idempotency.in_flight).toBeGreaterThan(0);
      expect(report.server.idempotency.mismatch).toBeGreaterThan(0);
      expect(report.server.inboxDuplicates).toBeGreaterThan(0);
      expect(report.server.restarts.relay).toBeGreaterThanOrEqual(2);
      // The proof's own cross-check, repeated here from outside.
      const { rows } = await db.pool.query<{ n: number; debits: number }>(
        `SELECT count(*)::int AS n,
                count(*) FILTER (WHERE (SELECT count(*) FROM ledger.postings p
                                         WHERE p.charge_id = c.id AND p.direction = 'debit') = 1)::int AS debits
           FROM charges c`,
      );
      expect(rows[0]).toEqual({ n: 150, debits: 150 });
    } finally {
      await db.drop();
    }
  }, 90_000);

  it('holds with PostgreSQL SIGKILLed mid-run: restarted, and every charge answered 201 is there, GET-able and applied once', async () => {
    // No --database-url: the proof's stack runs its own server, so it can kill it.
    const { code, output, report } = await runProve(['--ops', '150', '--concurrency', '10']);
    expect(code, output).toBe(0);
    expect(output).toContain('applied side effects: 150 / 150');
    expect(report.injected.databaseKills).toBe(1);
    expect(report.server.restarts.postgres).toBe(1);
    expect(report.answered.answered201).toBe(150);
    expect(report.answered).toMatchObject({ missing: [], notGettable: [], notAppliedOnce: [] });
    expect(output).toMatch(/answered 201, then missing from the database\s+0/);
  }, 120_000);

  it('fails, naming the double application, when the ledger inbox dedup is sabotaged', async () => {
    const { code, output, report, db } = await prove([
      '--ops',
      '150',
      '--concurrency',
      '10',
      '--sabotage',
      'truncate-inbox',
    ]);
    try {
      expect(code, output).toBe(1);
      expect(report.holds).toBe(false);
      expect(report.appliedSideEffects).toBeGreaterThan(150);
      expect(output).toMatch(/applied side effects: (\d+) \/ 150/);
      expect(output).toContain('PROOF FAILED');
      expect(output).toMatch(/DOUBLE APPLICATION: \d+ charge\(s\) applied more than once/);
      expect(report.crossCheck.appliedMoreThanOnce.length).toBe(report.appliedSideEffects - 150);
    } finally {
      await db.drop();
    }
  }, 90_000);
});
