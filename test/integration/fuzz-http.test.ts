import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
let world: FuzzWorld;
let sharedBodies: ChargeBody[];

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startLocalApi(db.url);
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
