import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { newKey, postCharge } from '../support/http.ts';
import { type NpmStart, processesInGroup, startNpmStart } from '../support/npm-start.ts';
import { waitFor } from '../support/pipeline.ts';

/**
 * What a terminal's Ctrl-C does, SIGINT to every process of the foreground group, and what
 * must follow: exit 0 in under 3 s (the stop waits for no exit that already happened; it once
 * waited 12 s for one), the data directory gone, no process of the group left.
 */
async function ctrlCStopsEverything(stack: NpmStart): Promise<void> {
  const group = stack.child.pid as number;
  const sent = Date.now();
  process.kill(-group, 'SIGINT');
  expect(await stack.exited).toBe(0);
  expect(Date.now() - sent).toBeLessThan(3_000);
  expect(existsSync(stack.dataDir)).toBe(false);
  await waitFor(
    'the group to empty',
    async () => (await processesInGroup(group)).length === 0,
    2_000,
  );
}

describe('npm start and Ctrl-C', () => {
  it('serves charges with embedded PostgreSQL; Ctrl-C stops everything in under 3 s and deletes the data directory', async () => {
    const stack = await startNpmStart({ LOCAL_API_KEYS: 'stack-key:stack-client' });
    expect(existsSync(stack.dataDir)).toBe(true);
    const answer = await postCharge(stack.url, { apiKey: 'stack-key', idempotencyKey: newKey() });
    expect(answer.status).toBe(201);
    expect((await processesInGroup(stack.child.pid as number)).length).toBeGreaterThan(4);

    await ctrlCStopsEverything(stack);
  });

  it('does the same when PostgreSQL has already exited on its own', async () => {
    const stack = await startNpmStart({ LOCAL_API_KEYS: 'stack-key:stack-client' });
    const postmaster = Number(
      (await readFile(`${stack.dataDir}/postmaster.pid`, 'utf8')).split('\n')[0],
    );
    // Fast shutdown of the server alone: a clean exit nobody in the stack asked for.
    process.kill(postmaster, 'SIGINT');
    await waitFor('PostgreSQL to exit', async () => !existsSync(`/proc/${postmaster}`), 10_000);

    await ctrlCStopsEverything(stack);
  });
});
