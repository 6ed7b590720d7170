import { setTimeout as sleep } from 'node:timers/promises';
import { type ChildService, startChild } from '../child-process.ts';
import { MetricsRegistry } from '../emf-metrics.ts';

export type Role = 'api' | 'relay' | 'consumer';

const CRASH_LOOP_DELAY_MS = 1_000;

export const ROLE_SCRIPTS: Record<Role, string> = {
  api: 'scripts/local/api-server.ts',
  relay: 'scripts/local/relay-process.ts',
  consumer: 'scripts/local/consumer-process.ts',
};

/** One instance of a role. */
export interface StartedProcess {
  service: ChildService;
  /** The metrics this instance's handlers emitted (its EMF lines). */
  metrics: MetricsRegistry;
  /** The API's URL (the `listening` line), for an API instance. */
  url?: string;
}

/** Every output line of a process, with the name it runs under. */
export type LineSink = (line: string, service: string) => void;

/** Starts one instance of `role` and waits until it is ready. */
export async function startProcess(
  role: Role,
  env: NodeJS.ProcessEnv,
  options: { name?: string; onLine?: LineSink; onSpawn?: (service: ChildService) => void } = {},
): Promise<StartedProcess> {
  const service = launchProcess(role, env, options);
  options.onSpawn?.(service.service);
  const ready = await service.service.ready;
  return ready.listening ? { ...service, url: String(ready.listening) } : service;
}

function launchProcess(
  role: Role,
  env: NodeJS.ProcessEnv,
  options: { name?: string; onLine?: LineSink },
): StartedProcess {
  const metrics = new MetricsRegistry();
  const service = startChild(ROLE_SCRIPTS[role], {
    name: options.name ?? role,
    env,
    onLine: (line, name) => {
      metrics.observeLine(line);
      options.onLine?.(line, name);
    },
  });
  service.ready.catch(() => {});
  return { service, metrics };
}

/** A process the stack keeps running: when it dies it is started again. */
export interface SupervisedProcess {
  readonly role: Role;
  /** The running instance (or the one starting). */
  readonly current: ChildService;
  /** How often it died and was started again. */
  readonly restarts: number;
  /** Resolves when the current instance is ready. */
  ready(): Promise<void>;
  /** Resolves with the exit code/signal of the current instance. */
  exited(): Promise<number | string>;
  /** Extra environment for the next start only (e.g. an armed failpoint). */
  armNextStart(env: Record<string, string>): void;
  /**
   * Queues `hook` for the next restart that has none yet: it runs (and is awaited) after the
   * dead instance is gone and before the new one starts, e.g. to wait for the queue to drain.
   */
  beforeNextRestart(hook: () => Promise<void>): void;
  /** SIGKILLs the current instance, like a crashed Lambda environment. */
  kill(): Promise<number | string>;
  /** Stops it for good (SIGTERM, then SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Runs `role` and starts it again whenever it dies, as Lambda starts a new execution
 * environment. A clean exit (code 0) was asked for, by a signal (a terminal's Ctrl-C
 * reaches the whole process group): that one is not restarted.
 */
export function superviseProcess(
  role: Role,
  envFor: (extra: Record<string, string>) => NodeJS.ProcessEnv,
  options: { onLine?: LineSink; onRestart?: (role: Role, exit: number | string) => void } = {},
): SupervisedProcess {
  let armed: Record<string, string> = {};
  const hooks: (() => Promise<void>)[] = [];
  let restarts = 0;
  let stopping = false;
  let current: ChildService;
  const launch = (): ChildService => {
    const extra = armed;
    armed = {};
    const { service } = launchProcess(role, envFor(extra), options);
    let becameReady = false;
    service.ready.then(
      () => {
        becameReady = true;
      },
      () => {},
    );
    service.exited.then(async (exit) => {
      if (stopping || exit === 0) return;
      // One that dies before it is ready (a bad setting, a port in use) would otherwise be
      // restarted in a tight loop.
      if (!becameReady) await sleep(CRASH_LOOP_DELAY_MS);
      if (stopping) return;
      const before = hooks.shift();
      await before?.().catch((error: unknown) =>
        options.onLine?.(`before-restart hook failed: ${String(error)}`, role),
      );
      if (stopping) return;
      restarts += 1;
      options.onRestart?.(role, exit);
      current = launch();
    });
    return service;
  };
  current = launch();
  return {
    role,
    get current() {
      return current;
    },
    get restarts() {
      return restarts;
    },
    ready: async () => {
      await current.ready;
    },
    exited: () => current.exited,
    armNextStart: (extra) => {
      armed = { ...armed, ...extra };
    },
    beforeNextRestart: (next) => {
      hooks.push(next);
    },
    kill: () => {
      const victim = current;
      victim.child.kill('SIGKILL');
      return victim.exited;
    },
    stop: (graceMs) => {
      stopping = true;
      return current.stop(graceMs);
    },
  };
}
