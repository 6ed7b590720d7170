import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface BundleProcess {
  /** Invokes the handler once; rejects when it threw or timed out. */
  invoke<R = unknown>(event: unknown, timeoutMs?: number): Promise<R>;
  /** Every line the process printed (stdout and stderr) except results: EMF documents, logs. */
  output: string[];
  stop(): Promise<void>;
}

const RUNNER = fileURLToPath(new URL('./bundle-runner.ts', import.meta.url));

/**
 * Starts one bundle in a process of its own (one Lambda execution environment) with exactly
 * `env` (plus PATH): nothing of the test process leaks in.
 */
export async function startBundle(
  dir: string,
  functionName: string,
  env: Record<string, string>,
): Promise<BundleProcess> {
  const child = spawn(process.execPath, [RUNNER, dir, functionName], {
    env: { PATH: process.env.PATH ?? '', AWS_LAMBDA_FUNCTION_NAME: functionName, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const waiting = new Map<number, (result: { ok: boolean; value: unknown }) => void>();
  let ready: () => void = () => {};
  let failed: (error: Error) => void = () => {};
  const started = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    output.push(line);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('@@result ')) {
      const result = JSON.parse(line.slice('@@result '.length));
      waiting.get(result.id)?.(result);
      waiting.delete(result.id);
    } else if (line === '{"ready":true}') ready();
    else output.push(line);
  });
  child.once('exit', (code) => {
    const error = new Error(
      `${functionName} bundle exited (${code}) before answering:\n${stderr.join('\n')}`,
    );
    failed(error);
    for (const resolve of waiting.values()) resolve({ ok: false, value: error.message });
  });
  await started;
  let nextId = 0;
  return {
    output,
    invoke: (event, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, (result) =>
          result.ok ? resolve(result.value as never) : reject(new Error(String(result.value))),
        );
        child.stdin.write(`${JSON.stringify({ id, event, timeoutMs })}\n`);
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
