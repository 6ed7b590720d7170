import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ChildService {
  name: string;
  child: ChildProcess;
  /** The first JSON line the child printed with a `listening` or `ready` key. */
  ready: Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartChildOptions {
  name: string;
  env: NodeJS.ProcessEnv;
  /** Every line the child writes (stdout and stderr), for forwarding or metrics. */
  onLine?: (line: string, service: string) => void;
  readyTimeoutMs?: number;
}

/**
 * Runs a TypeScript entry point of this repository as its own Node process (Node 24 strips
 * the types), so that a test or the supervisor can SIGKILL it like a crashed Lambda.
 */
export function startChild(script: string, options: StartChildOptions): ChildService {
  const scriptPath = script.startsWith('/')
    ? script
    : fileURLToPath(new URL(`../../${script}`, import.meta.url));
  const child = spawn(process.execPath, [scriptPath], {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `${options.name} did not become ready within ${options.readyTimeoutMs ?? 30_000} ms`,
          ),
        ),
      options.readyTimeoutMs ?? 30_000,
    );
    const recent: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        recent.push(line);
        if (recent.length > 20) recent.shift();
        if (line.startsWith('{') && (line.includes('"listening"') || line.includes('"ready"'))) {
          try {
            clearTimeout(timer);
            resolve(JSON.parse(line) as Record<string, unknown>);
            return;
          } catch {
            // not the readiness line after all
          }
        }
        options.onLine?.(line, options.name);
      });
    }
    exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`${options.name} exited (${code}) before it was ready:\n${recent.join('\n')}`),
      );
    });
  });
  ready.catch(() => {});

  return {
    name: options.name,
    child,
    ready,
    exited,
    stop: async (graceMs = 5_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
