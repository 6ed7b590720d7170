import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import {
  getJson,
  newKey,
  postCharge,
  postChargeAndLoseResponse,
  VALID_CHARGE,
} from '../support/http.ts';
import { CLIENT_A, CLIENT_B, type LocalApi, startLocalApi } from '../support/local-api.ts';

let db: TestDatabase;
let api: LocalApi;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startLocalApi(db.url);
});
afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

async function chargeRows(clientId: string, key: string): Promise<{ id: string }[]> {
  const { rows } = await db.pool.query(
    'SELECT id FROM charges WHERE client_id = $1 AND idempotency_key = $2',
    [clientId, key],
  );
  return rows;
}

async function outboxEventsFor(chargeId: string): Promise<number> {
  const { rows } = await db.pool.query(
    `SELECT count(*)::int AS n FROM outbox WHERE payload->>'chargeId' = $1`,
    [chargeId],
  );
  return rows[0].n;
}

function expectProblem(
  answer: { status: number; headers: Headers; json: () => Record<string, unknown> },
  status: number,
) {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('content-type')).toBe('application/problem+json');
  const problem = answer.json();
  expect(problem.status).toBe(status);
  expect(problem.type).toMatch(/^\/problems\/[a-z-]+$/);
  expect(typeof problem.title).toBe('string');
  expect(typeof problem.detail).toBe('string');
  return problem;
}

describe('POST /charge outcomes', () => {
  it('creates a charge: 201, Location, the charge JSON, one charge row and one outbox event', async () => {
    const key = newKey();
    const answer = await postCharge(api.url, {
      apiKey: CLIENT_A.apiKey,
      idempotencyKey: key,
      body: { ...VALID_CHARGE, description: 'order 42' },
    });
    expect(answer.status).toBe(201);
    const charge = answer.json();
    expect(charge).toMatchObject({
      amount: 1000,
      currency: 'EUR',
      customerId: 'cus_1',
      description: 'order 42',
    });
    expect(answer.headers.get('location')).toBe(`/charges/${charge.id}`);
    expect(answer.headers.get('idempotent-replayed')).toBeNull();
    expect(await chargeRows(CLIENT_A.clientId, key)).toEqual([{ id: charge.id }]);
    expect(await outboxEventsFor(String(charge.id))).toBe(1);
  });

  it('replays the first response byte for byte, marked Idempotent-Replayed, without a second charge', async () => {
    const key = newKey();
    const first = await postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key });
    // Same body, different key order and spacing: the canonical body is the same request.
    const replay = await postCharge(api.url, {
      apiKey: CLIENT_A.apiKey,
      idempotencyKey: key,
      rawBody: '{ "customerId": "cus_1", "currency": "EUR", "amount": 1000 }',
    });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
    expect(replay.text).toBe(first.text);
    expect(await chargeRows(CLIENT_A.clientId, key)).toHaveLength(1);
    expect(await outboxEventsFor(String(first.json().id))).toBe(1);
  });

  it('answers 422 when the key is reused with a different body, and charges nothing more', async () => {
    const key = newKey();
    const first = await postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key });
    const reuse = await postCharge(api.url, {
      apiKey: CLIENT_A.apiKey,
      idempotencyKey: key,
      body: { ...VALID_CHARGE, amount: 9999 },
    });
    expectProblem(reuse, 422);
    expect(await chargeRows(CLIENT_A.clientId, key)).toEqual([{ id: first.json().id }]);
  });

  it('answers 409 with Retry-After while the first request with the key is still in progress', async () => {
    const key = newKey();
    const first = await postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key });
    // Put the key's record back in the state it had while the first invocation was running.
    const reopened = await db.pool.query(
      `UPDATE idempotency_records
          SET status = 'INPROGRESS', response = NULL, in_progress_expires_at = now() + interval '1 hour'
        WHERE id = (SELECT id FROM idempotency_records ORDER BY created_at DESC LIMIT 1)`,
    );
    expect(reopened.rowCount).toBe(1);
    const conflict = await postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key });
    expectProblem(conflict, 409);
    expect(conflict.headers.get('retry-after')).toBe('1');
    // The refused request must not release the running invocation's claim.
    const { rows } = await db.pool.query(
      `SELECT status FROM idempotency_records WHERE status = 'INPROGRESS'`,
    );
    expect(rows).toHaveLength(1);
    expect(await chargeRows(CLIENT_A.clientId, key)).toEqual([{ id: first.json().id }]);
  });

  it.each([
    ['no Idempotency-Key', { idempotencyKey: undefined }, 400],
    ['a malformed Idempotency-Key', { idempotencyKey: 'has spaces in it' }, 400],
    ['malformed JSON', { rawBody: '{"amount": 10' }, 400],
    ['an unknown field', { body: { ...VALID_CHARGE, coupon: 'FREE' } }, 400],
    ['a negative amount', { body: { ...VALID_CHARGE, amount: -5 } }, 400],
    ['an unsupported currency', { body: { ...VALID_CHARGE, currency: 'BTC' } }, 400],
    ['no API key', { apiKey: undefined }, 401],
    ['an unknown API key', { apiKey: 'not-a-key' }, 403],
    ['a 17 KiB body', { body: { ...VALID_CHARGE, description: 'x'.repeat(17 * 1024) } }, 413],
    ['a text/plain body', { contentType: 'text/plain' }, 415],
    ['no Content-Type', { contentType: undefined }, 415],
  ])('rejects %s as problem+json %i without writing anything', async (_name, overrides, status) => {
    const key = newKey();
    const answer = await postCharge(api.url, {
      apiKey: CLIENT_A.apiKey,
      idempotencyKey: key,
      ...overrides,
    });
    expectProblem(answer, status);
    const { rows } = await db.pool.query(
      `SELECT (SELECT count(*) FROM charges WHERE idempotency_key = $1)::int AS charges,
              (SELECT count(*) FROM idempotency_records WHERE id LIKE '%' || $1 || '%')::int AS records`,
      [key],
    );
    expect(rows[0]).toEqual({ charges: 0, records: 0 });
  });

  it('lists every invalid field of a bad body', async () => {
    const answer = await postCharge(api.url, {
      apiKey: CLIENT_A.apiKey,
      idempotencyKey: newKey(),
      body: { amount: 0, currency: 'EUR', customerId: 'has space' },
    });
    const problem = expectProblem(answer, 400);
    expect((problem.errors as { field: string }[]).map((error) => error.field).sort()).toEqual([
      'amount',
      'customerId',
    ]);
  });

  it('lets a rejected request be corrected and retried with the same key', async () => {
    const key = newKey();
    expectProblem(
      await postCharge(api.url, {
        apiKey: CLIENT_A.apiKey,
        idempotencyKey: key,
        body: { ...VALID_CHARGE, amount: 0 },
      }),
      400,
    );
    expect(
      (await postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key })).status,
    ).toBe(201);
  });
});

describe('concurrency and lost responses', () => {
  it('executes 50 concurrent requests with one new key once: the rest are 409 or replays of the same body', async () => {
    const key = newKey();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key }),
      ),
    );
    const created = answers.filter(
      (answer) => answer.status === 201 && answer.headers.get('idempotent-replayed') === null,
    );
    const replays = answers.filter(
      (answer) => answer.status === 201 && answer.headers.get('idempotent-replayed') === 'true',
    );
    const inFlight = answers.filter((answer) => answer.status === 409);
    console.log(
      `50 same-key requests: ${created.length} new, ${replays.length} replays, ${inFlight.length} in flight (409)`,
    );
    expect(created).toHaveLength(1);
    expect(created.length + replays.length + inFlight.length).toBe(50);
    for (const replay of replays) expect(replay.text).toBe(created[0]?.text);
    for (const conflict of inFlight) expect(conflict.headers.get('retry-after')).toBe('1');
    expect(await chargeRows(CLIENT_A.clientId, key)).toHaveLength(1);
  });

  it('replays the same charge after the response is lost', async () => {
    const key = newKey();
    const status = await postChargeAndLoseResponse(api.url, {
      apiKey: CLIENT_A.apiKey,
      idempotencyKey: key,
    });
    expect(status).toBe(201);
    const [committed] = await chargeRows(CLIENT_A.clientId, key);
    expect(committed).toBeDefined();

    const retry = await postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.json().id).toBe(committed?.id);
    expect(await chargeRows(CLIENT_A.clientId, key)).toHaveLength(1);
  });
});

describe('client scoping', () => {
  it('treats the same key from two clients as two charges, neither visible to the other', async () => {
    const key = newKey();
    const a = await postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key });
    const b = await postCharge(api.url, {
      apiKey: CLIENT_B.apiKey,
      idempotencyKey: key,
      body: { ...VALID_CHARGE, amount: 50 },
    });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(a.json().id).not.toBe(b.json().id);

    const aId = String(a.json().id);
    const bId = String(b.json().id);
    expect((await getJson(api.url, `/charges/${aId}`, CLIENT_A.apiKey)).json()).toEqual({
      ...a.json(),
      ledger: { applied: false, applications: 0 },
    });
    expect((await getJson(api.url, `/charges/${bId}`, CLIENT_B.apiKey)).json()).toMatchObject(
      b.json(),
    );
    expectProblem(await getJson(api.url, `/charges/${aId}`, CLIENT_B.apiKey), 404);
    expectProblem(await getJson(api.url, `/charges/${bId}`, CLIENT_A.apiKey), 404);
  });

  it('answers 404 for an unknown or malformed charge id, and 401 without a key', async () => {
    expectProblem(
      await getJson(api.url, '/charges/00000000-0000-4000-8000-000000000000', CLIENT_A.apiKey),
      404,
    );
    expectProblem(await getJson(api.url, '/charges/not-a-uuid', CLIENT_A.apiKey), 404);
    expectProblem(await getJson(api.url, '/charges/00000000-0000-4000-8000-000000000000'), 401);
  });

  it('reports health without an API key', async () => {
    const answer = await getJson(api.url, '/health');
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ status: 'ok' });
  });
});

describe('the Idempotency-Key as an RFC 8941 sf-string, over HTTP', () => {
  it('makes "k" then k one charge, the second answer a replay', async () => {
    const key = newKey();
    const quoted = await postCharge(api.url, {
      apiKey: CLIENT_A.apiKey,
      idempotencyKey: `"${key}"`,
    });
    expect(quoted.status).toBe(201);
    const bare = await postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key });
    expect(bare.status).toBe(201);
    expect(bare.headers.get('idempotent-replayed')).toBe('true');
    expect(bare.json().id).toBe(quoted.json().id);
    expect(await chargeRows(CLIENT_A.clientId, key)).toEqual([{ id: quoted.json().id }]);
  });

  it.each([
    ['broken quoting', '"k'],
    ['a stray quote', 'k"'],
    ['parameters', '"k";v=1'],
    ['bare parameters', 'k;v=1'],
    ['an inner list', '("a" "b")'],
    ['a list', '"a", "b"'],
    ['a bad escape', '"a\\x"'],
  ])('answers %s with 400 naming the rule, charging nothing', async (_name, header) => {
    const answer = await postCharge(api.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: header });
    const problem = expectProblem(answer, 400);
    expect(problem.type).toBe('/problems/invalid-idempotency-key');
    expect(problem.detail).toMatch(/sf-string|quoting|parameters|list/);
  });
});

describe('a body read one way only, over HTTP', () => {
  const raw = (rawBody: string, contentType = 'application/json') => ({
    apiKey: CLIENT_A.apiKey,
    idempotencyKey: newKey(),
    rawBody,
    contentType,
  });
  const chargesNow = async () =>
    (await db.pool.query('SELECT count(*)::int AS n FROM charges')).rows[0].n as number;

  it.each([
    [
      'a duplicate amount',
      raw('{"amount":1,"currency":"EUR","customerId":"c","amount":999999}'),
      400,
    ],
    [
      'a fractional amount',
      raw('{"amount":99999999.999999999,"currency":"EUR","customerId":"c"}'),
      400,
    ],
    [
      'a tiny fraction',
      raw('{"amount":1000.00000000000001,"currency":"EUR","customerId":"c"}'),
      400,
    ],
    ['an exponent', raw('{"amount":1e3,"currency":"EUR","customerId":"c"}'), 400],
    [
      'a utf-16 charset',
      raw(JSON.stringify(VALID_CHARGE), 'application/json; charset=utf-16'),
      415,
    ],
  ])('refuses %s and charges nothing', async (_name, call, status) => {
    const before = await chargesNow();
    expectProblem(await postCharge(api.url, call), status);
    expect(await chargesNow()).toBe(before);
  });

  it('refuses a body that is not UTF-8 and charges nothing', async () => {
    const before = await chargesNow();
    const body = Buffer.concat([
      Buffer.from('{"amount":1000,"currency":"EUR","customerId":"c","description":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const response = await fetch(`${api.url}/charge`, {
      method: 'POST',
      headers: {
        'x-api-key': CLIENT_A.apiKey,
        'Idempotency-Key': newKey(),
        'Content-Type': 'application/json',
      },
      body,
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/UTF-8/);
    expect(await chargesNow()).toBe(before);
  });
});
