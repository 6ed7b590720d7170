import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, revokeKeys } from '../../functions/clients/manage-clients.ts';
import {
  PROBLEMS,
  type ProblemType,
  problemExplanation,
} from '../../functions/commons/http/problem-catalogue.ts';
import { resourcesOf, synthPayments } from '../cdk/support/synth-payments.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { newKey } from '../support/http.ts';
import { CLIENT_A, type LocalApi, startLocalApi } from '../support/local-api.ts';

/**
 * One table of faults: what the client sends, the API Gateway response type that answers it
 * in AWS, and the catalogue problem both gateways must answer with. Each row is checked
 * against the local gateway (over HTTP) and against the synthesized template.
 */
interface Fault {
  name: string;
  request: (keys: { valid: string; revoked: string }) => {
    method: string;
    path: string;
    headers?: Record<string, string>;
    body?: string;
  };
  gatewayResponse: string;
  problem: ProblemType;
}

const CHARGE_BODY = JSON.stringify({ amount: 1000, currency: 'EUR', customerId: 'cus_parity' });
const chargeHeaders = (apiKey: string) => ({
  'x-api-key': apiKey,
  'content-type': 'application/json',
  'idempotency-key': newKey(),
});

const FAULTS: Fault[] = [
  {
    name: 'no API key',
    request: () => ({ method: 'POST', path: '/charge', body: CHARGE_BODY }),
    gatewayResponse: 'UNAUTHORIZED',
    problem: PROBLEMS.unauthenticated,
  },
  {
    name: 'an unknown API key',
    request: () => ({
      method: 'POST',
      path: '/charge',
      headers: chargeHeaders('payk_0000000000000000.unknown'),
      body: CHARGE_BODY,
    }),
    gatewayResponse: 'ACCESS_DENIED',
    problem: PROBLEMS.forbidden,
  },
  {
    name: 'a revoked API key',
    request: ({ revoked }) => ({
      method: 'GET',
      path: '/charges/x',
      headers: { 'x-api-key': revoked },
    }),
    gatewayResponse: 'ACCESS_DENIED',
    problem: PROBLEMS.forbidden,
  },
  {
    name: 'no such resource',
    request: ({ valid }) => ({ method: 'GET', path: '/nope', headers: { 'x-api-key': valid } }),
    gatewayResponse: 'MISSING_AUTHENTICATION_TOKEN',
    problem: PROBLEMS.notFound,
  },
  {
    name: 'no such method',
    request: ({ valid }) => ({
      method: 'DELETE',
      path: '/charge',
      headers: { 'x-api-key': valid },
    }),
    gatewayResponse: 'MISSING_AUTHENTICATION_TOKEN',
    problem: PROBLEMS.notFound,
  },
  {
    name: 'no Idempotency-Key',
    request: ({ valid }) => {
      const { 'idempotency-key': _key, ...headers } = chargeHeaders(valid);
      return { method: 'POST', path: '/charge', headers, body: CHARGE_BODY };
    },
    gatewayResponse: 'BAD_REQUEST_PARAMETERS',
    problem: PROBLEMS.invalidIdempotencyKey,
  },
  {
    name: 'a body that is not a charge',
    request: ({ valid }) => ({
      method: 'POST',
      path: '/charge',
      headers: chargeHeaders(valid),
      body: '{"amount":1000,"currency":"EUR","customerId":"c","capture":true}',
    }),
    gatewayResponse: 'BAD_REQUEST_BODY',
    problem: PROBLEMS.invalidChargeRequest,
  },
  {
    name: 'a body over the gateway limit',
    request: ({ valid }) => ({
      method: 'POST',
      path: '/charge',
      headers: chargeHeaders(valid),
      body: 'x'.repeat(1024 * 1024 + 1),
    }),
    gatewayResponse: 'REQUEST_TOO_LARGE',
    problem: PROBLEMS.payloadTooLarge,
  },
  {
    name: 'a media type other than JSON',
    request: ({ valid }) => ({
      method: 'POST',
      path: '/charge',
      headers: { ...chargeHeaders(valid), 'content-type': 'text/plain' },
      body: CHARGE_BODY,
    }),
    gatewayResponse: 'UNSUPPORTED_MEDIA_TYPE',
    problem: PROBLEMS.unsupportedMediaType,
  },
];

let db: TestDatabase;
let api: LocalApi;
let keys: { valid: string; revoked: string };
const { statelessTemplate: template } = synthPayments();

beforeAll(async () => {
  db = await createTestDatabase();
  const revoked = await createClient(db.pool, 'parity-revoked');
  await revokeKeys(db.pool, { keyId: revoked.keyId });
  keys = { valid: CLIENT_A.apiKey, revoked: revoked.secret };
  api = await startLocalApi(db.url);
});
afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

function gatewayResponse(type: string) {
  const found = Object.values(resourcesOf(template, 'AWS::ApiGateway::GatewayResponse')).find(
    (candidate) => candidate.Properties.ResponseType === type,
  );
  if (!found) throw new Error(`no gateway response ${type} in the template`);
  const templates = found.Properties.ResponseTemplates as Record<string, string>;
  // The template's body with the runtime values stood in for, to read it as JSON.
  const body = JSON.parse(
    (templates['application/json'] ?? '')
      .replace('$context.error.messageString', '"message"')
      .replace('$context.requestId', 'id'),
  ) as { type: string; title: string; status?: number };
  return { statusCode: found.Properties.StatusCode, body };
}

describe('one problem catalogue: the local gateway and API Gateway answer a fault alike', () => {
  it.each(FAULTS.map((fault) => [fault.name, fault] as const))('%s', async (_name, fault) => {
    const request = fault.request(keys);
    const response = await fetch(`${api.url}${request.path}`, {
      method: request.method,
      headers: request.headers ?? {},
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    const local = (await response.json()) as { type: string; title: string; status: number };
    const aws = gatewayResponse(fault.gatewayResponse);
    const expected = {
      status: fault.problem.status,
      type: `/problems/${fault.problem.slug}`,
      title: fault.problem.title,
    };

    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect({ status: response.status, type: local.type, title: local.title }).toEqual(expected);
    expect(local.status).toBe(response.status);
    expect({
      status: Number(aws.statusCode),
      type: aws.body.type,
      title: aws.body.title,
    }).toEqual(expected);
    expect(aws.body.status).toBe(expected.status);
  });
});

describe('problem type URIs lead to an explanation', () => {
  const problems = Object.values(PROBLEMS);

  it('served by the local gateway at each type URI, without a key', async () => {
    for (const problem of problems) {
      const response = await fetch(`${api.url}/problems/${problem.slug}`);
      expect(response.status, problem.slug).toBe(200);
      expect(await response.text()).toBe(problemExplanation(problem));
    }
  });

  it('served by API Gateway at each type URI (a mock integration answering the same text)', () => {
    const resources = resourcesOf(template, 'AWS::ApiGateway::Resource');
    const methods = Object.values(resourcesOf(template, 'AWS::ApiGateway::Method'));
    for (const problem of problems) {
      const [resourceId] =
        Object.entries(resources).find(([, r]) => r.Properties.PathPart === problem.slug) ?? [];
      const method = methods.find(
        (m) => (m.Properties.ResourceId as { Ref?: string }).Ref === resourceId,
      );
      const integration = method?.Properties.Integration as {
        Type: string;
        IntegrationResponses: { ResponseTemplates: Record<string, string> }[];
      };
      expect(integration?.Type, problem.slug).toBe('MOCK');
      expect(integration.IntegrationResponses[0]?.ResponseTemplates['application/json']).toBe(
        problemExplanation(problem),
      );
    }
  });

  it('documented in docs/problems.md, one section per type', () => {
    const docs = readFileSync(new URL('../../docs/problems.md', import.meta.url), 'utf8');
    for (const problem of problems) {
      expect(docs, problem.slug).toContain(`## ${problem.slug}`);
      expect(docs, problem.slug).toContain(problem.explanation);
    }
  });
});
