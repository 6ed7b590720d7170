import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/local/embedded-postgres.ts';
import { newKey, postCharge } from '../support/http.ts';

/** Postgres processes whose command line names `dataDir` (the embedded server's -D argument). */
async function postgresProcessesFor(dataDir: string): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  let count = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(dataDir)) count++;
  }
  return count;
}

describe('npm start', () => {
  it('serves charges with embedded PostgreSQL and leaves no process or data directory after Ctrl-C', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      LOCAL_API_KEYS: 'stack-key:stack-client',
    };
    delete env.DATABASE_URL;
    const stack = spawn(process.execPath, ['scripts/local/start.ts'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) =>
      stack.once('exit', (code) => resolve(code)),
    );
    const output: string[] = [];
    const seen = new Promise<{ url: string; dataDir: string }>((resolve, reject) => {
      let dataDir = '';
      createInterface({ input: stack.stdout }).on('line', (line) => {
        output.push(line);
        dataDir = /data directory: (\S+)/.exec(line)?.[1] ?? dataDir;
        const url = /listening on (\S+)/.exec(line)?.[1];
        if (url) resolve({ url, dataDir });
      });
      createInterface({ input: stack.stderr }).on('line', (line) => output.push(line));
      exited.then((code) =>
        reject(new Error(`npm start exited early (${code}):\n${output.join('\n')}`)),
      );
    });
    const { url, dataDir } = await seen;
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(existsSync(dataDir)).toBe(true);
    expect(await postgresProcessesFor(dataDir)).toBeGreaterThan(0);

    const answer = await postCharge(url, { apiKey: 'stack-key', idempotencyKey: newKey() });
    expect(answer.status).toBe(201);

    stack.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(dataDir)).toBe(false);
    expect(await postgresProcessesFor(dataDir)).toBe(0);
  });
});
