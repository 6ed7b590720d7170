import { type ChildProcess, spawn } from 'node:child_process';
import { createClient } from '@redis/client';
import { freePort } from '../../scripts/local/embedded-postgres.ts';

/** A connected node-redis client, as `createClient` returns it. */
type RedisConnection = ReturnType<typeof createRedisConnection>;
const createRedisConnection = (url: string) => createClient({ url, disableOfflineQueue: true });

export interface TestRedis {
  url: string;
  /** A connected client for the test's own commands (FLUSHALL, DEL, GET). */
  client: RedisConnection;
  /** Stops the server (the API's connection breaks, as in an outage). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A redis-server of the test's own on a free loopback port, so a test can stop and restart it
 * without touching a server anybody else uses. Needs the `redis-server` binary (Debian
 * package redis-server).
 */
export async function startTestRedis(): Promise<TestRedis> {
  const port = await freePort();
  let server: ChildProcess | undefined;

  async function start(): Promise<void> {
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    const failed = new Promise<never>((_, reject) =>
      server?.once('error', (error) =>
        reject(new Error(`cannot start redis-server (is it installed?): ${error.message}`)),
      ),
    );
    const probe = createClient({ url: `redis://127.0.0.1:${port}` });
    probe.on('error', () => {});
    for (let attempt = 0; ; attempt++) {
      try {
        await Promise.race([probe.connect(), failed]);
        await probe.ping();
        await probe.close();
        return;
      } catch (error) {
        if (attempt > 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  async function stop(): Promise<void> {
    const running = server;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  }

  await start();
  const client = createRedisConnection(`redis://127.0.0.1:${port}`);
  client.on('error', () => {});
  await client.connect();
  return {
    url: `redis://127.0.0.1:${port}`,
    client,
    stop,
    start,
    close: async () => {
      client.destroy();
      await stop();
    },
  };
}
