import type { APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseChargeRequest } from '../../../functions/charge/parse-charge-request.ts';
import { problemFor } from '../../../functions/commons/http/problem-responses.ts';
import {
  expectationOf,
  type FuzzRequest,
  type FuzzWorld,
  isStorableText,
  requestArbitrary,
} from '../../../scripts/prove/http-contract.ts';

const A = { apiKey: 'key-a', clientId: 'client-a' };
const B = { apiKey: 'key-b', clientId: 'client-b' };
const WORLD: FuzzWorld = {
  clients: [A, B],
  seeded: [
    {
      id: '0b6b9a0e-4b7e-4c1a-9d59-2f64f2a6f001',
      clientId: A.clientId,
      key: 'seed-a',
      body: { amount: 1000, currency: 'EUR', customerId: 'cus_a' },
    },
    {
      id: '0b6b9a0e-4b7e-4c1a-9d59-2f64f2a6f002',
      clientId: B.clientId,
      key: 'seed-b',
      body: { amount: 2000, currency: 'EUR', customerId: 'cus_b' },
    },
  ],
  sharedKeys: ['shared-1', 'shared-2'],
};
const SHARED_BODIES = [{ amount: 500, currency: 'EUR', customerId: 'cus_shared' }];

/** The proxy event the local gateway builds: values trimmed by HTTP, duplicates kept. */
function gatewayEvent(request: FuzzRequest, clientId: string): APIGatewayProxyEvent {
  // A Map, then own properties: a header named `constructor` or `__proto__` is just a header.
  const values = new Map<string, string[]>();
  for (const [name, raw] of request.headers) {
    const value = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const headers = Object.fromEntries([...values].map(([name, list]) => [name, list.at(-1)]));
  const multiValueHeaders = Object.fromEntries(values);
  const body = Buffer.from(request.body, 'utf8');
  return {
    headers,
    multiValueHeaders,
    body: body.length > 0 ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: { authorizer: { clientId } },
  } as unknown as APIGatewayProxyEvent;
}

/** Whether the body carries text PostgreSQL cannot store (the integration fuzz pins that case). */
function hasUnstorableText(request: FuzzRequest): boolean {
  try {
    const parsed = JSON.parse(Buffer.from(request.body, 'utf8').toString('utf8')) as {
      description?: unknown;
    };
    return typeof parsed?.description === 'string' && !isStorableText(parsed.description);
  } catch {
    return false;
  }
}

describe('the HTTP contract oracle', () => {
  it('agrees with the charge request parser on every generated request that reaches it', () => {
    const reachesHandler = requestArbitrary({ world: WORLD, sharedBodies: SHARED_BODIES }).filter(
      (request) => {
        const expectation = expectationOf(request, WORLD);
        return (
          request.method === 'POST' &&
          new URL(request.path, 'http://x').pathname === '/charge' &&
          !(expectation.kind === 'status' && [401, 403, 404].includes(expectation.status)) &&
          !hasUnstorableText(request)
        );
      },
    );
    fc.assert(
      fc.property(reachesHandler, (request) => {
        const expectation = expectationOf(request, WORLD);
        const clientId = expectation.kind === 'charge' ? expectation.clientId : A.clientId;
        let status = 201;
        try {
          parseChargeRequest(gatewayEvent(request, clientId));
        } catch (error) {
          status = problemFor(error).status;
        }
        if (expectation.kind === 'charge') expect(status).toBe(201);
        else
          expect({ status, reason: expectation.kind }).toEqual({
            status: expectation.status,
            reason: 'status',
          });
      }),
      { numRuns: 3_000 },
    );
  });

  it('refuses text PostgreSQL cannot store: NUL and lone surrogates', () => {
    expect(isStorableText('ok 💳')).toBe(true);
    expect(isStorableText('a\u0000b')).toBe(false);
    expect(isStorableText('\ud800')).toBe(false);
  });

  it('routes, authenticates and validates in the gateway order', () => {
    const post = (
      headers: [string, string][],
      body = JSON.stringify(SHARED_BODIES[0]),
    ): FuzzRequest => ({
      method: 'POST',
      path: '/charge',
      headers,
      body,
    });
    const json: [string, string] = ['Content-Type', 'application/json'];
    const key: [string, string] = ['Idempotency-Key', 'k-1'];
    const status = (request: FuzzRequest) => {
      const expectation = expectationOf(request, WORLD);
      return expectation.kind === 'status' ? expectation.status : expectation.kind;
    };
    expect(status(post([json, key]))).toBe(401);
    expect(status(post([['x-api-key', 'nope'], json, key]))).toBe(403);
    expect(status(post([['x-api-key', 'nope'], ['x-api-key', B.apiKey], json, key]))).toBe(
      'charge',
    );
    expect(status(post([['x-api-key', ` ${A.apiKey} `], json, key]))).toBe('charge');
    expect(status(post([['x-api-key', A.apiKey], key]))).toBe(415);
    expect(status(post([['x-api-key', A.apiKey], json, json, key]))).toBe(415);
    expect(status(post([['x-api-key', A.apiKey], json]))).toBe(400);
    expect(status(post([['x-api-key', A.apiKey], json, key, ['idempotency-key', 'k-2']]))).toBe(
      400,
    );
    expect(status(post([['x-api-key', A.apiKey], json, key], '{"amount":1}'))).toBe(400);
    expect(status(post([['x-api-key', A.apiKey], json, key], 'x'.repeat(16_385)))).toBe(413);
    expect(status({ method: 'PUT', path: '/charge', headers: [], body: '' })).toBe(404);
    expect(status({ method: 'GET', path: '/charges/%ZZ', headers: [], body: '' })).toBe(404);
    const get = (apiKey: string, id: string) =>
      expectationOf(
        { method: 'GET', path: `/charges/${id}`, headers: [['x-api-key', apiKey]], body: '' },
        WORLD,
      );
    const own = WORLD.seeded[0]?.id ?? '';
    expect(get(A.apiKey, own)).toEqual({ kind: 'get', status: 200, id: own });
    expect(get(A.apiKey, own.toUpperCase())).toEqual({ kind: 'get', status: 200, id: own });
    expect(get(B.apiKey, own)).toMatchObject({ kind: 'get', status: 404 });
  });
});
