import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { freePort } from '../../scripts/local/embedded-postgres.ts';

export interface NpmStart {
  child: ChildProcess;
  /** The API's URL, from the `listening on` line. */
  url: string;
  /** The embedded server's data directory, from its line. */
  dataDir: string;
  output: string[];
  /** Resolves with the exit code (or signal) once `npm start` has exited. */
  exited: Promise<number | string>;
}

/**
 * `npm start` (scripts/local/start.ts, with embedded PostgreSQL) as a terminal runs it: in a
 * process group of its own, so a test can send the group SIGINT as Ctrl-C does.
 */
export async function startNpmStart(env: Record<string, string> = {}): Promise<NpmStart> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), ...env };
  delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, ['scripts/local/start.ts'], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const output: string[] = [];
  let dataDir = '';
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      output.push(line);
      dataDir = /data directory: (\S+)/.exec(line)?.[1] ?? dataDir;
      const listening = /listening on (\S+)/.exec(line)?.[1];
      if (listening) resolve(listening);
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
      output.push(line),
    );
    void exited.then((code) =>
      reject(new Error(`npm start exited early (${code}):\n${output.join('\n')}`)),
    );
  });
  return { child, url, dataDir, output, exited };
}

/** The pids of the processes still in process group `groupId` (from /proc/PID/stat). */
export async function processesInGroup(groupId: number): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // After "(command)": state, ppid, pgrp.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === groupId) found.push(Number(pid));
  }
  return found;
}
