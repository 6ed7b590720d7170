import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningMetricsView, startMetricsView } from '../../scripts/local/metrics-view.ts';
import {
  type ChargeBody,
  type ChargeRow,
  checkAnswer,
  checkCharges,
  createSender,
  type Exchange,
  expectationOf,
  type FuzzRequest,
  type FuzzWorld,
  requestArbitrary,
} from '../../scripts/prove/http-contract.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { postCharge } from '../support/http.ts';
import { CLIENT_A, CLIENT_B, type LocalApi, startLocalApi } from '../support/local-api.ts';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_240);
const BATCH = 48;
const CONCURRENCY = 16;

let db: TestDatabase;
let api: LocalApi;
let metricsView: RunningMetricsView;
let world: FuzzWorld;
let sharedBodies: ChargeBody[];

beforeAll(async () => {
  db = await createTestDatabase();
  // As `npm start` serves it: the metrics view's paths answered on the API's port, in front
  // of the gateway; an exit of the API process counts as a restart there.
  metricsView = await startMetricsView();
  api = await startLocalApi(db.url, { METRICS_VIEW_URL: metricsView.url });
  void api.service.exited.then(() => metricsView.view.recordRestart('api'));
  const clients = [CLIENT_A, CLIENT_B];
  const seeded: FuzzWorld['seeded'] = [];
  for (const [index, client] of [...clients, ...clients, ...clients].entries()) {
    const key = `seed-${index}-${randomUUID()}`;
    const body = { amount: 1000 + index, currency: 'EUR', customerId: `cus_seed_${index}` };
    const answer = await postCharge(api.url, { apiKey: client.apiKey, idempotencyKey: key, body });
    expect(answer.status).toBe(201);
    seeded.push({ id: String(answer.json().id), clientId: client.clientId, key, body });
  }
  world = {
    clients,
    seeded,
    sharedKeys: Array.from({ length: 24 }, (_, index) => `fz-${index}-${randomUUID().slice(0, 8)}`),
  };
  sharedBodies = [
    { amount: 500, currency: 'EUR', customerId: 'cus_shared' },
    { amount: 501, currency: 'EUR', customerId: 'cus_shared' },
    { amount: 500, currency: 'USD', customerId: 'cus_shared', description: 'shared' },
  ];
});
afterAll(async () => {
  await api?.stop();
  await metricsView?.close();
  await db?.drop();
});

async function sendAll(
  send: (request: FuzzRequest) => Promise<Exchange['answer']>,
  requests: FuzzRequest[],
): Promise<Exchange[]> {
  const exchanges: Exchange[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests.length) {
        const request = requests[next++] as FuzzRequest;
        const answer = await send(request);
        exchanges.push({ request, expectation: expectationOf(request, world), answer });
      }
    }),
  );
  return exchanges;
}

describe('the HTTP contract under fuzzing', () => {
  it('answers 10,000 generated requests without a 5xx, charges nothing from invalid input and never crosses clients', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    const sender = createSender(api.url, CONCURRENCY);
    const exchanges: Exchange[] = [];
    const started = Date.now();
    try {
      const details = await fc.check(
        fc.asyncProperty(
          fc.array(requestArbitrary({ world, sharedBodies }), {
            minLength: BATCH,
            maxLength: BATCH,
          }),
          async (batch) => {
            const answered = await sendAll(sender.send, batch);
            exchanges.push(...answered);
            for (const exchange of answered) {
              const problem = checkAnswer(exchange);
              if (problem) {
                throw new Error(
                  `${problem}\n  request: ${JSON.stringify(exchange.request).slice(0, 2_000)}\n  answer: ${exchange.answer.status} ${exchange.answer.text.slice(0, 500)}`,
                );
              }
            }
          },
        ),
        { numRuns: Math.ceil(REQUESTS / BATCH), seed, endOnFailure: true },
      );
      if (details.failed) {
        // The failing answer only (the whole batch of 48 requests would bury it).
        throw new Error(
          `fuzz failed (replay: FUZZ_SEED=${details.seed}, path ${details.counterexamplePath}): ${
            details.errorInstance instanceof Error
              ? details.errorInstance.message
              : String(details.errorInstance)
          }`,
        );
      }
    } finally {
      sender.close();
    }
    const seconds = (Date.now() - started) / 1000;

    const { rows } = await db.pool.query<ChargeRow>(
      'SELECT id, client_id, idempotency_key, amount, currency, customer_id, description FROM charges',
    );
    const problems = checkCharges(exchanges, rows, world);
    const byStatus: Record<number, number> = {};
    for (const exchange of exchanges) {
      byStatus[exchange.answer.status] = (byStatus[exchange.answer.status] ?? 0) + 1;
    }
    const serverErrors = exchanges.filter((exchange) => exchange.answer.status >= 500).length;
    const invalid = exchanges.filter((exchange) => exchange.expectation.kind === 'status').length;
    const seededKeys = new Map(world.seeded.map((charge) => [charge.key, charge.clientId]));
    const crossClient = exchanges.filter(
      (exchange) =>
        exchange.expectation.kind === 'charge' &&
        seededKeys.has(exchange.expectation.key) &&
        seededKeys.get(exchange.expectation.key) !== exchange.expectation.clientId,
    ).length;
    console.log(
      `fuzz (seed ${seed}): ${exchanges.length} requests in ${seconds.toFixed(1)} s, ${serverErrors} answered 5xx, ` +
        `${invalid} invalid, ${crossClient} with another client's key, ${rows.length - world.seeded.length} charges made; ` +
        `by status ${JSON.stringify(byStatus)}`,
    );
    expect(exchanges.length).toBeGreaterThanOrEqual(10_000);
    expect(serverErrors).toBe(0);
    expect(problems, problems.slice(0, 10).join('\n')).toEqual([]);
  }, 120_000);
});

/** Sends `bytes` as they are on a fresh connection; resolves with the status and body. */
function sendRaw(bytes: string): Promise<{ status: number; headers: string; body: string }> {
  const url = new URL(api.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body });
    });
    socket.write(bytes, 'latin1');
  });
}

const request = (head: string, body = '') =>
  `${head}\r\nHost: x\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const validCharge = JSON.stringify({ amount: 1000, currency: 'EUR', customerId: 'cus_bytes' });
const chargeHeaders = (key: string) =>
  `x-api-key: ${CLIENT_A.apiKey}\r\nContent-Type: application/json\r\nIdempotency-Key: ${key}`;

describe('the local gateway under hostile bytes, with the metrics view in front', () => {
  it.each([
    ['a path that is no URL', request('GET //[ HTTP/1.1')],
    [
      'a path that is no URL, with a key',
      request(`GET //[ HTTP/1.1\r\nx-api-key: ${CLIENT_A.apiKey}`),
    ],
    ['a metrics path that is no URL', request('GET //[/metrics HTTP/1.1')],
    ['a malformed request line', 'GARBAGE\r\n\r\n'],
    ['a request line without a version', 'GET /charge\r\n\r\n'],
    ['a control character in a header', request('GET /health HTTP/1.1\r\nX-A: a\x01b')],
    ['a header without a colon', request('GET /health HTTP/1.1\r\nnot a header')],
    ['headers over the limit', request(`GET /health HTTP/1.1\r\nX-Big: ${'b'.repeat(20_000)}`)],
    [
      'prototype-named query parameters',
      request(
        `GET /charges/x?__proto__=1&constructor=2&toString=3 HTTP/1.1\r\nx-api-key: ${CLIENT_A.apiKey}`,
      ),
    ],
    [
      'prototype-named query parameters on an unknown path',
      request('GET /x?__proto__[a]=1&constructor HTTP/1.1'),
    ],
    [
      'a __proto__ API key header',
      request('POST /charge HTTP/1.1\r\n__proto__: x\r\nX-Api-Key: __proto__'),
    ],
    ['an absolute-form target', request('GET http://evil.example/charge HTTP/1.1')],
    ['an asterisk target', request('OPTIONS * HTTP/1.1')],
  ])('answers %s with a 4xx problem', async (_name, bytes) => {
    const answer = await sendRaw(bytes);
    expect(answer.status, answer.headers).toBeGreaterThanOrEqual(400);
    expect(answer.status, answer.body).toBeLessThan(500);
    expect(answer.headers.toLowerCase()).toContain('content-type: application/problem+json');
    const problem = JSON.parse(answer.body) as { status: number; type: string; detail: string };
    expect(problem.status).toBe(answer.status);
    expect(problem.type).toMatch(/^\/problems\/[a-z-]+$/);
    expect(problem.detail).not.toMatch(/Error|TypeError|at .*\.ts|Invalid URL|prototype/);
  });

  it('charges a valid request whatever prototype-named headers ride along', async () => {
    const body = validCharge;
    const answer = await sendRaw(
      request(
        `POST /charge HTTP/1.1\r\n${chargeHeaders(`proto-${randomUUID()}`)}\r\n__proto__: x\r\nconstructor: y`,
        body,
      ),
    );
    expect(answer.status, answer.body).toBe(201);
  });

  it('never restarted the API process: the restart count on /metrics is 0', async () => {
    // After every hostile request above, a normal one still gets its answer.
    const health = await fetch(`${api.url}/health`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toContain('local_process_restarts_total{service="api"} 0');
    expect(api.service.child.exitCode).toBeNull();
  });
});
