import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChargeClient, ChargeNetworkError } from '../../../client/index.ts';
import { createFaultProxy, type FaultProxy } from '../../../scripts/fault-proxy/fault-proxy.ts';
import { type ScriptedServer, startScriptedServer } from './scripted-server.ts';

const INPUT = { amount: 1000, currency: 'EUR', customerId: 'c1' };
const PROXY_MAIN = fileURLToPath(new URL('../../../scripts/fault-proxy/main.ts', import.meta.url));

interface SpawnedProxy {
  ready: Promise<{ listening: string }>;
  stop(): Promise<void>;
}

/** The proxy CLI as a child process; `ready` resolves with its `{"listening": url}` line. */
function spawnFaultProxy(args: string[]): SpawnedProxy {
  const process_ = spawn(process.execPath, [PROXY_MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(process_, 'exit');
  const ready = new Promise<{ listening: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fault proxy not ready in 10 s')), 10_000);
    createInterface({ input: process_.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as { listening: string });
    });
    exited.then(() => reject(new Error('fault proxy exited before it was ready')));
  });
  ready.catch(() => {});
  return {
    ready,
    stop: async () => {
      if (process_.exitCode !== null || process_.signalCode !== null) return;
      process_.kill('SIGTERM');
      await exited;
    },
  };
}

let server: ScriptedServer | undefined;
let proxy: FaultProxy | undefined;
let child: SpawnedProxy | undefined;
afterEach(async () => {
  await child?.stop();
  await proxy?.close();
  await server?.close();
  child = undefined;
  proxy = undefined;
  server = undefined;
});

/** 201 for a key's first request, a marked replay of the same answer afterwards. */
function chargeServer() {
  return startScriptedServer((request, self) => {
    const replay = self.requestsFor(request.key ?? '').length > 1;
    const headers: Record<string, string> = replay ? { 'Idempotent-Replayed': 'true' } : {};
    return {
      status: 201,
      headers,
      body: { id: `ch_${request.key}` },
    };
  });
}

function client(baseUrl: string, maxAttempts: number, perAttemptTimeoutMs = 5_000) {
  return new ChargeClient({
    baseUrl,
    apiKey: 'test-api-key',
    maxAttempts,
    baseDelayMs: 20,
    capDelayMs: 50,
    perAttemptTimeoutMs,
  });
}

describe('fault proxy', () => {
  it('loses a response: the upstream gets the request, the client only a closed socket', async () => {
    server = await chargeServer();
    proxy = await createFaultProxy({ target: server.url, faults: { lostResponse: { firstN: 1 } } });

    const error = await client(proxy.url, 1)
      .createCharge(INPUT)
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ChargeNetworkError);
    expect(error).toMatchObject({ timedOut: false, attempts: 1 });
    expect((error as Error).message).toMatch(/other side closed|UND_ERR_SOCKET|ECONNRESET/);
    const key = (error as ChargeNetworkError).idempotencyKey;
    expect(server.requestsFor(key)).toHaveLength(1);
    expect(proxy.stats).toMatchObject({ received: 1, forwarded: 1, dropped: 1, answered: 0 });
  });

  it('lets a retry with the same key recover a lost response as a replay', async () => {
    server = await chargeServer();
    proxy = await createFaultProxy({ target: server.url, faults: { lostResponse: { firstN: 1 } } });

    const result = await client(proxy.url, 3).createCharge(INPUT);

    expect(result).toMatchObject({ status: 201, attempts: 2, replayed: true });
    const requests = server.requestsFor(result.idempotencyKey);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.body).toBe(requests[0]?.body);
    expect(proxy.stats).toMatchObject({ forwarded: 2, dropped: 1, answered: 1 });
  });

  it('loses only the responses a predicate or fraction selects', async () => {
    server = await chargeServer();
    const draws = [0.9, 0.1];
    proxy = await createFaultProxy({
      target: server.url,
      random: () => draws.shift() ?? 0.9,
      faults: {
        lostResponse: {
          match: (request) => String(request.headers['idempotency-key']).startsWith('lose-'),
          fraction: 0.5,
        },
      },
    });
    const once = client(proxy.url, 1);

    await expect(once.createCharge(INPUT, { idempotencyKey: 'keep-1' })).resolves.toMatchObject({
      status: 201,
    });
    // First matching request draws 0.9 (kept), the second 0.1 (lost).
    await expect(once.createCharge(INPUT, { idempotencyKey: 'lose-1' })).resolves.toMatchObject({
      status: 201,
    });
    await expect(once.createCharge(INPUT, { idempotencyKey: 'lose-2' })).rejects.toBeInstanceOf(
      ChargeNetworkError,
    );
    expect(server.requests).toHaveLength(3);
    expect(proxy.stats).toMatchObject({ forwarded: 3, dropped: 1 });
  });

  it('resets the connection before forwarding: the upstream never sees the request', async () => {
    server = await chargeServer();
    proxy = await createFaultProxy({ target: server.url, faults: { reset: { firstN: 1 } } });

    const error = await client(proxy.url, 1)
      .createCharge(INPUT)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChargeNetworkError);
    expect((error as Error).message).toMatch(/ECONNRESET/);
    expect(server.requests).toHaveLength(0);

    const result = await client(proxy.url, 1).createCharge(INPUT);
    expect(result).toMatchObject({ status: 201, replayed: false });
    expect(proxy.stats).toMatchObject({ received: 2, reset: 1, forwarded: 1 });
  });

  it('plays an outage: 503 + Retry-After without forwarding, until the window ends', async () => {
    server = await chargeServer();
    let now = 0;
    proxy = await createFaultProxy({ target: server.url, now: () => now });
    proxy.setFaults({ outage: { durationMs: 10_000, retryAfterSeconds: 2 } });

    const during = await fetch(`${proxy.url}/charge`, { method: 'POST', body: '{}' });
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('2');
    expect(during.headers.get('content-type')).toBe('application/problem+json');
    expect(await during.json()).toMatchObject({ status: 503 });
    expect(server.requests).toHaveLength(0);

    now = 10_000;
    const after = await fetch(`${proxy.url}/charge`, { method: 'POST', body: '{}' });
    expect(after.status).toBe(201);
    expect(server.requests).toHaveLength(1);
    expect(proxy.stats).toMatchObject({ received: 2, outage: 1, forwarded: 1, answered: 1 });
  });

  it('delays requests: the client times out while the upstream still gets the request', async () => {
    server = await chargeServer();
    proxy = await createFaultProxy({ target: server.url, faults: { delayMs: 300 } });
    const slow = client(proxy.url, 1, 100);

    const error = await slow.createCharge(INPUT).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ChargeNetworkError);
    expect(error).toMatchObject({ timedOut: true });
    expect(slow.metrics.snapshot().http_request_outcome.timeout).toBe(1);
    // The timed-out request was not cancelled downstream: it arrives after the delay.
    await vi.waitFor(() => expect(server?.requests).toHaveLength(1), { timeout: 2_000 });
  });

  it('refuses a target that is not on loopback', async () => {
    await expect(createFaultProxy({ target: 'http://example.com' })).rejects.toThrow(/loopback/);
  });

  it('runs as a process whose faults are set over its control endpoints', async () => {
    server = await chargeServer();
    child = spawnFaultProxy(['--target', server.url, '--port', '0']);
    const ready = await child.ready;
    const url = String(ready.listening);

    const put = await fetch(`${url}/__fault-proxy/faults`, {
      method: 'PUT',
      body: JSON.stringify({ outage: { retryAfterSeconds: 3 } }),
    });
    expect(put.status).toBe(200);
    const during = await fetch(`${url}/charge`, { method: 'POST', body: '{}' });
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('3');

    await fetch(`${url}/__fault-proxy/faults`, { method: 'DELETE' });
    const after = await fetch(`${url}/charge`, { method: 'POST', body: '{}' });
    expect(after.status).toBe(201);
    const stats = await (await fetch(`${url}/__fault-proxy/stats`)).json();
    expect(stats).toMatchObject({ received: 2, outage: 1, forwarded: 1 });

    const bad = await fetch(`${url}/__fault-proxy/faults`, {
      method: 'PUT',
      body: JSON.stringify({ meteorStrike: true }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: expect.stringContaining('unknown fault') });
  });
});
