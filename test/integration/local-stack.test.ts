import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { serverProcesses } from '../../scripts/local/embedded-postgres.ts';
import { newKey, postCharge } from '../support/http.ts';
import { type NpmStart, processesInGroup, startNpmStart } from '../support/npm-start.ts';
import { waitFor } from '../support/pipeline.ts';

/**
 * What a terminal's Ctrl-C does, SIGINT to every process of the foreground group, and what
 * must follow: exit 0 in under 3 s (the stop waits for no exit that already happened; it once
 * waited 12 s for one), the data directory gone, no process left: none of npm start's group,
 * none of the PostgreSQL server's (each backend is a process group of its own).
 */
async function ctrlCStopsEverything(stack: NpmStart): Promise<void> {
  const group = stack.child.pid as number;
  const sent = Date.now();
  process.kill(-group, 'SIGINT');
  expect(await stack.exited).toBe(0);
  expect(Date.now() - sent).toBeLessThan(3_000);
  expect(existsSync(stack.dataDir)).toBe(false);
  await waitFor(
    'both groups to empty',
    async () =>
      (await processesInGroup(group)).length === 0 &&
      (await serverProcesses(stack.dataDir)).length === 0,
    2_000,
  );
}

/** The postmaster's pid, from the first line of its lock file. */
async function postmasterPid(stack: NpmStart): Promise<number> {
  return Number((await readFile(`${stack.dataDir}/postmaster.pid`, 'utf8')).split('\n')[0]);
}

const stacks: NpmStart[] = [];
async function started(stack: Promise<NpmStart>): Promise<NpmStart> {
  stacks.push(await stack);
  return stacks[stacks.length - 1] as NpmStart;
}
// A failed assertion must not leave a stack running: stop it the way a user would.
afterEach(async () => {
  for (const stack of stacks.splice(0)) {
    if (stack.child.exitCode !== null || stack.child.signalCode !== null) continue;
    process.kill(-(stack.child.pid as number), 'SIGINT');
    await stack.exited;
  }
});

describe('npm start and Ctrl-C', () => {
  it('serves charges with embedded PostgreSQL; Ctrl-C stops everything in under 3 s and deletes the data directory', async () => {
    const stack = await started(startNpmStart({ LOCAL_API_KEYS: 'stack-key:stack-client' }));
    expect(existsSync(stack.dataDir)).toBe(true);
    const answer = await postCharge(stack.url, { apiKey: 'stack-key', idempotencyKey: newKey() });
    expect(answer.status).toBe(201);
    expect((await processesInGroup(stack.child.pid as number)).length).toBeGreaterThan(3);
    expect((await serverProcesses(stack.dataDir)).length).toBeGreaterThan(3);

    await ctrlCStopsEverything(stack);
  });

  it('does the same when PostgreSQL has already exited on its own', async () => {
    const stack = await started(startNpmStart({ LOCAL_API_KEYS: 'stack-key:stack-client' }));
    const postmaster = await postmasterPid(stack);
    // Fast shutdown of the server alone: a clean exit nobody in the stack asked for.
    process.kill(postmaster, 'SIGINT');
    await waitFor('PostgreSQL to exit', async () => !existsSync(`/proc/${postmaster}`), 10_000);

    await ctrlCStopsEverything(stack);
  });
});
