import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort } from '../embedded-postgres.ts';

export interface RedisServer {
  url: string;
  port: number;
  /** SIGKILLs the server (clients' connections break, as in an outage). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/**
 * A redis-server of our own on a free loopback port, without persistence, so a test or the
 * benchmark can stop and restart it without touching a server anybody else uses. Needs the
 * `redis-server` binary (Debian package redis-server); rejects with a readable reason if it
 * is missing or does not become ready.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let server: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    server = child;
    await new Promise<void>((resolve, reject) => {
      const fail = (reason: string) => {
        clearTimeout(timer);
        reject(new Error(`cannot start redis-server (is it installed?): ${reason}`));
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail(`not ready within ${READY_TIMEOUT_MS / 1000} s`);
      }, READY_TIMEOUT_MS);
      child.once('error', (error) => fail(error.message));
      child.once('exit', (code) => fail(`it exited (${code})`));
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (line.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  };

  const stop = async (): Promise<void> => {
    const running = server;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };

  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
