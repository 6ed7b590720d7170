import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { problem, type ScriptedServer, startScriptedServer } from './scripted-server.ts';

const CHARGE_CLI = fileURLToPath(new URL('../../../scripts/charge-cli.ts', import.meta.url));
const PROXY_CLI = fileURLToPath(new URL('../../../scripts/fault-proxy/main.ts', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const STACK_FRAME = /^\s+at /m;

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('charge CLI', () => {
  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--amount', '10.50', '--currency', 'EUR', '--customer', 'c1'], /--amount must be a whole/],
    [['--amount', '1000', '--customer', 'c1'], /--currency is required/],
    [
      ['--amount', '1000', '--currency', 'EUR', '--customer', 'c1', '--attempts', '0'],
      /--attempts/,
    ],
    [['--amount', '1000', '--currency', 'EUR', '--customer', 'c1', '--url', 'nope'], /--url/],
    [['--amount', '1000', '--currency', 'EUR', '--customer', 'c1', '--key', 'a b'], /--key/],
  ])('rejects %j with exit code 2 and a readable message', async (args, message) => {
    const result = await run(CHARGE_CLI, args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage: npm run charge');
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(result.stdout).toBe('');
  });

  it('creates a charge, retrying once, and prints the result and the transcript', async () => {
    server = await startScriptedServer((request, self) =>
      self.requestsFor(request.key ?? '').length === 1
        ? { status: 503, body: problem(503, 'unavailable', 'Try again.') }
        : { status: 201, body: { id: 'ch_1', ...JSON.parse(request.body) } },
    );
    const result = await run(CHARGE_CLI, [
      '--amount',
      '1000',
      '--currency',
      'EUR',
      '--customer',
      'c1',
      '--description',
      'coffee',
      '--url',
      server.url,
      '--api-key',
      'k1',
      '--key',
      'cli-key-1',
      '--transcript',
    ]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: true,
      status: 201,
      attempts: 2,
      idempotencyKey: 'cli-key-1',
      body: { id: 'ch_1', amount: 1000, currency: 'EUR', customerId: 'c1', description: 'coffee' },
    });
    const transcript = result.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(transcript).toMatchObject([
      { key: 'cli-key-1', attempt: 1, status: 503, decision: 'retry' },
      { key: 'cli-key-1', attempt: 2, status: 201, decision: 'return' },
    ]);
    expect(server.requests[0]?.headers['x-api-key']).toBe('k1');
  });

  it('exits 1 with the problem when the API refuses the charge', async () => {
    server = await startScriptedServer(() => ({
      status: 422,
      body: problem(422, 'idempotency-key-reused', 'Different body.'),
    }));
    const result = await run(CHARGE_CLI, [
      '--amount',
      '1000',
      '--currency',
      'EUR',
      '--customer',
      'c1',
      '--url',
      server.url,
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, status: 422, attempts: 1 });
  });

  it('exits 1 with the key to retry with when there is no answer', async () => {
    server = await startScriptedServer(() => ({ status: 201 }));
    const url = server.url;
    await server.close();
    server = undefined;
    const result = await run(CHARGE_CLI, [
      '--amount',
      '1000',
      '--currency',
      'EUR',
      '--customer',
      'c1',
      '--url',
      url,
      '--attempts',
      '2',
      '--key',
      'cli-key-2',
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      error: 'ChargeNetworkError',
      idempotencyKey: 'cli-key-2',
      attempts: 2,
      hint: expect.stringContaining('--key cli-key-2'),
    });
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('fault proxy CLI', () => {
  it.each([
    [[], /--target is required/],
    [['--target', 'http://127.0.0.1:1', '--lost-response', '2'], /--lost-response/],
    [['--target', 'http://127.0.0.1:1', '--nope'], /Unknown option/],
  ])('rejects %j with exit code 2', async (args, message) => {
    const result = await run(PROXY_CLI, args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});
