import { randomUUID } from 'node:crypto';

/** A REST API proxy event as API Gateway sends it after the usage plan accepted the key. */
export function proxyEvent(options: {
  method: 'GET' | 'POST';
  resource: string;
  path: string;
  clientId: string;
  headers?: Record<string, string>;
  body?: string;
  pathParameters?: Record<string, string>;
}) {
  const headers = options.headers ?? {};
  return {
    resource: options.resource,
    path: options.path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: options.pathParameters ?? null,
    stageVariables: null,
    body: options.body ?? null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'smoke',
      authorizer: { clientId: options.clientId },
      protocol: 'HTTP/1.1',
      httpMethod: options.method,
      path: `/v1${options.path}`,
      stage: 'v1',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: options.resource,
      resourcePath: options.resource,
      identity: { apiKey: 'smoke-key', apiKeyId: options.clientId, sourceIp: '127.0.0.1' },
    },
  };
}

export function postChargeEvent(
  clientId: string,
  idempotencyKey: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return proxyEvent({
    method: 'POST',
    resource: '/charge',
    path: '/charge',
    clientId,
    headers: {
      'Content-Type': 'application/json',
      'Idempotency-Key': idempotencyKey,
      ...headers,
    },
    body: JSON.stringify(body),
  });
}
