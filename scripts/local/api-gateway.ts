import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { InvocationTimeoutError, invokeLocally, type LambdaHandler } from './lambda-runtime.ts';

/** One API Gateway method: `resource` may hold `{param}` segments, as in API Gateway. */
export interface Route {
  method: 'GET' | 'POST';
  resource: string;
  functionName: string;
  handler: LambdaHandler<APIGatewayProxyEvent, APIGatewayProxyResult>;
  apiKeyRequired: boolean;
  timeoutMs?: number;
}

export interface LocalApiGatewayOptions {
  routes: Route[];
  /** API key → client id, as API keys and their ids are in a usage plan. */
  apiKeys: Map<string, string>;
  /** API Gateway's own payload limit is 10 MB; bodies above this never reach a handler. */
  maxBodyBytes?: number;
  /**
   * Local-only requests answered before routing (no API key), e.g. the metrics view's
   * /metrics and /dashboard: returns true when it has taken the request.
   */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * An HTTP server that behaves like an API Gateway REST API with Lambda proxy integrations:
 * it checks API keys the way a usage plan does, turns each request into the proxy event
 * the Lambda receives in AWS, invokes the unmodified handler and writes its result back.
 * Gateway-level failures (missing or unknown key, no route, a handler that throws or times
 * out) are answered as problem+json, which is what the CDK stack's gateway responses return.
 */
export function createLocalApiGateway(options: LocalApiGatewayOptions): Server {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const server = createServer((req, res) => {
    if (options.intercept?.(req, res)) return;
    handleRequest(req, res, options, maxBodyBytes).catch((error: unknown) => {
      // Only reached if writing the response itself failed (the client went away).
      if (!res.headersSent) gatewayProblem(res, 502, 'bad-gateway', 'Bad gateway', String(error));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  return server;
}

async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: LocalApiGatewayOptions,
  maxBodyBytes: number,
): Promise<void> {
  const requestId = randomUUID();
  res.setHeader('x-amzn-RequestId', requestId);
  const url = new URL(req.url ?? '/', 'http://localhost');
  const match = matchRoute(options.routes, req.method ?? 'GET', url.pathname);
  if (match === 'no-resource') {
    return gatewayProblem(
      res,
      404,
      'no-such-resource',
      'Not found',
      `No resource at ${url.pathname}.`,
    );
  }
  if (match === 'no-method') {
    return gatewayProblem(
      res,
      405,
      'method-not-allowed',
      'Method not allowed',
      `${req.method} is not supported on ${url.pathname}.`,
    );
  }
  const { route, pathParameters } = match;

  const apiKey = req.headers['x-api-key'];
  const presentedKey = Array.isArray(apiKey) ? apiKey[0] : apiKey;
  const clientId = presentedKey === undefined ? undefined : options.apiKeys.get(presentedKey);
  if (route.apiKeyRequired && presentedKey === undefined) {
    return gatewayProblem(
      res,
      401,
      'unauthenticated',
      'No API key',
      'Send your API key in the x-api-key header.',
    );
  }
  if (route.apiKeyRequired && clientId === undefined) {
    return gatewayProblem(
      res,
      403,
      'forbidden',
      'The API key is not valid',
      'The API key is not valid.',
    );
  }

  const body = await readBody(req, maxBodyBytes);
  if (body === 'too-large') {
    return gatewayProblem(
      res,
      413,
      'payload-too-large',
      'The body is too large',
      `The body must be at most ${maxBodyBytes} bytes.`,
    );
  }

  const event = toProxyEvent(
    req,
    url,
    route,
    pathParameters,
    body,
    requestId,
    presentedKey,
    clientId,
  );
  let result: APIGatewayProxyResult;
  try {
    result = await invokeLocally(route.handler, event, {
      functionName: route.functionName,
      timeoutMs: route.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      requestId,
    });
  } catch (error) {
    if (error instanceof InvocationTimeoutError) {
      return gatewayProblem(
        res,
        504,
        'timeout',
        'Endpoint request timed out',
        'The request timed out; retry with the same Idempotency-Key.',
      );
    }
    return gatewayProblem(
      res,
      502,
      'bad-gateway',
      'Internal server error',
      'The function failed; retry with the same Idempotency-Key.',
    );
  }
  writeResult(res, result);
}

function matchRoute(
  routes: Route[],
  method: string,
  path: string,
): { route: Route; pathParameters: Record<string, string> | null } | 'no-resource' | 'no-method' {
  const segments = path.split('/').filter(Boolean);
  let resourceFound = false;
  for (const route of routes) {
    const pattern = route.resource.split('/').filter(Boolean);
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = pattern.every((part, index) => {
      const segment = segments[index] ?? '';
      if (part.startsWith('{') && part.endsWith('}')) {
        try {
          params[part.slice(1, -1)] = decodeURIComponent(segment);
          return true;
        } catch {
          return false;
        }
      }
      return part === segment;
    });
    if (!matches) continue;
    resourceFound = true;
    if (route.method === method) {
      return { route, pathParameters: Object.keys(params).length > 0 ? params : null };
    }
  }
  return resourceFound ? 'no-method' : 'no-resource';
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function toProxyEvent(
  req: IncomingMessage,
  url: URL,
  route: Route,
  pathParameters: Record<string, string> | null,
  body: Buffer,
  requestId: string,
  apiKey: string | undefined,
  clientId: string | undefined,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? '';
    const value = req.rawHeaders[i + 1] ?? '';
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) {
    query[key] = value;
    multiQuery[key] = [...(multiQuery[key] ?? []), value];
  }
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: route.resource,
    path: url.pathname,
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters,
    stageVariables: null,
    body: body.length > 0 ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: route.method,
      // As behind a custom domain with no base path: the client's path is the resource path.
      path: url.pathname,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: route.resource,
      resourcePath: route.resource,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: apiKey ?? null,
        apiKeyId: clientId ?? null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: req.headers['user-agent'] ?? null,
        userArn: null,
      },
    },
  };
}

function writeResult(res: ServerResponse, result: APIGatewayProxyResult): void {
  for (const [name, value] of Object.entries(result.headers ?? {}))
    res.setHeader(name, String(value));
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    res.setHeader(name, values.map(String));
  }
  res.statusCode = result.statusCode;
  res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

function gatewayProblem(
  res: ServerResponse,
  status: number,
  slug: string,
  title: string,
  detail: string,
): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/problem+json');
  res.end(JSON.stringify({ type: `/problems/${slug}`, title, status, detail }));
}

/** Starts listening on `port` (0 picks a free one) at 127.0.0.1; resolves with the base URL. */
export async function listen(server: Server, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
