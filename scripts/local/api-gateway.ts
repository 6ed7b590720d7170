import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { UNAUTHORIZED } from '../../functions/authorizer/authorize-request.ts';
import {
  PROBLEMS,
  type ProblemType,
  problemAt,
  problemBody,
  problemExplanation,
} from '../../functions/commons/http/problem-catalogue.ts';
import { InvocationTimeoutError, invokeLocally, type LambdaHandler } from './lambda-runtime.ts';

/** One API Gateway method: `resource` may hold `{param}` segments, as in API Gateway. */
export interface Route {
  method: 'GET' | 'POST';
  resource: string;
  functionName: string;
  handler: LambdaHandler<APIGatewayProxyEvent, APIGatewayProxyResult>;
  /** Whether the method is behind the REQUEST authorizer (identity source: x-api-key). */
  apiKeyRequired: boolean;
  timeoutMs?: number;
}

export type RequestAuthorizer = LambdaHandler<
  APIGatewayRequestAuthorizerEvent,
  APIGatewayAuthorizerResult
>;

export interface LocalApiGatewayOptions {
  routes: Route[];
  /** The Lambda REQUEST authorizer: the same handler as in AWS (functions/authorizer). */
  authorizer: RequestAuthorizer;
  /** As API Gateway's authorizer result cache, per x-api-key value; 0 disables it. */
  authorizerCacheTtlMs: number;
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
const AUTHORIZER_TIMEOUT_MS = 10_000;
const METHOD_ARN_PREFIX = 'arn:aws:execute-api:local:000000000000:local/local';

/**
 * An HTTP server that behaves like the API Gateway REST API of lib/constructs/payments-api.ts
 * with Lambda proxy integrations: it runs the REQUEST authorizer (caching its answer per key
 * as API Gateway does), turns each request into the proxy event the Lambda receives in AWS,
 * invokes the unmodified handler and writes its result back. Its own answers (no key, a
 * refused key, no route, a handler that throws or times out, a request it cannot read) come
 * from the problem catalogue, as the CDK stack's gateway responses do. Whatever the bytes,
 * it answers a 4xx or 5xx problem and keeps running.
 */
export function createLocalApiGateway(options: LocalApiGatewayOptions): Server {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const authorize = cachedAuthorizer(options.authorizer, options.authorizerCacheTtlMs);
  const server = createServer((req, res) => {
    try {
      if (options.intercept?.(req, res)) return;
    } catch {
      // A local tool that cannot read the request leaves it to the gateway, which answers it.
    }
    handleRequest(req, res, options, authorize, maxBodyBytes).catch(() => {
      // Only reached if writing the response itself failed (the client went away).
      if (!res.headersSent) functionFailed(res);
      else res.destroy();
    });
  });
  // Node answers unreadable requests (a malformed request line or header, headers over its
  // limit) with a bare status line; answer them as problems like everything else.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') return void socket.destroy();
    const problem =
      error.code === 'HPE_HEADER_OVERFLOW' ? PROBLEMS.headersTooLarge : PROBLEMS.badRequest;
    const body = JSON.stringify(problemBody(problem, problem.explanation));
    socket.end(
      `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  server.keepAliveTimeout = 5_000;
  return server;
}

/**
 * The request target as a URL; undefined for one no URL parser can read. Appended to an
 * origin rather than resolved against it, so `//x` stays a path instead of a host.
 */
export function requestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(`http://localhost${target?.startsWith('/') ? target : `/${target ?? ''}`}`);
  } catch {
    return undefined;
  }
}

type Authorize = (
  apiKey: string,
  event: APIGatewayRequestAuthorizerEvent,
) => Promise<APIGatewayAuthorizerResult | 'unauthorized'>;

function cachedAuthorizer(authorizer: RequestAuthorizer, ttlMs: number): Authorize {
  const cache = new Map<string, { result: APIGatewayAuthorizerResult; until: number }>();
  return async (apiKey, event) => {
    const cached = cache.get(apiKey);
    if (cached && cached.until > Date.now()) return cached.result;
    let result: APIGatewayAuthorizerResult;
    try {
      result = await invokeLocally(authorizer, event, {
        functionName: 'authorizer',
        timeoutMs: AUTHORIZER_TIMEOUT_MS,
        requestId: event.requestContext.requestId,
      });
    } catch (error) {
      if (error instanceof Error && error.message === UNAUTHORIZED) return 'unauthorized';
      throw error;
    }
    if (ttlMs > 0) {
      if (cache.size > 10_000) cache.clear();
      cache.set(apiKey, { result, until: Date.now() + ttlMs });
    }
    return result;
  };
}

async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: LocalApiGatewayOptions,
  authorize: Authorize,
  maxBodyBytes: number,
): Promise<void> {
  const requestId = randomUUID();
  res.setHeader('x-amzn-RequestId', requestId);
  const url = requestUrl(req.url);
  if (!url) return gatewayProblem(res, PROBLEMS.badRequest, 'The request target is not a URL.');

  const explained = req.method === 'GET' ? problemAt(url.pathname) : undefined;
  if (explained) return explainProblem(res, explained);

  const match = matchRoute(options.routes, req.method ?? 'GET', url.pathname);
  // API Gateway answers an unknown resource and an unknown method alike (403
  // MISSING_AUTHENTICATION_TOKEN, which the stack's gateway response turns into this 404).
  if (match === 'no-route') {
    return gatewayProblem(res, PROBLEMS.notFound, `No ${req.method} method at this path.`);
  }
  const { route, pathParameters } = match;

  const event = toProxyEvent(req, url, route, pathParameters, requestId);
  if (route.apiKeyRequired) {
    const apiKey = firstHeader(event, 'x-api-key');
    // The identity source is missing: API Gateway refuses without calling the authorizer.
    if (apiKey === undefined || apiKey === '') {
      return gatewayProblem(res, PROBLEMS.unauthenticated, PROBLEMS.unauthenticated.explanation);
    }
    let answer: Awaited<ReturnType<Authorize>>;
    try {
      answer = await authorize(apiKey, toAuthorizerEvent(event));
    } catch {
      return gatewayProblem(res, PROBLEMS.internalError, 'The authorizer failed; retry later.');
    }
    if (answer === 'unauthorized') {
      return gatewayProblem(res, PROBLEMS.unauthenticated, PROBLEMS.unauthenticated.explanation);
    }
    if (!allows(answer, methodArn(route))) {
      return gatewayProblem(res, PROBLEMS.forbidden, PROBLEMS.forbidden.explanation);
    }
    event.requestContext.authorizer = {
      ...answer.context,
      principalId: answer.principalId,
    };
  }

  const body = await readBody(req, maxBodyBytes);
  if (body === 'too-large') {
    return gatewayProblem(
      res,
      PROBLEMS.payloadTooLarge,
      `The body must be at most ${maxBodyBytes} bytes.`,
    );
  }
  // As API Gateway with no binary media types: the body is handed over as UTF-8 text (bytes
  // that are not UTF-8 arrive as U+FFFD, which the charge parser refuses).
  event.body = body.length > 0 ? body.toString('utf8') : null;

  let result: APIGatewayProxyResult;
  try {
    result = await invokeLocally(route.handler, event, {
      functionName: route.functionName,
      timeoutMs: route.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      requestId,
    });
  } catch (error) {
    if (error instanceof InvocationTimeoutError) {
      return gatewayProblem(res, PROBLEMS.upstreamTimeout, PROBLEMS.upstreamTimeout.explanation);
    }
    return functionFailed(res);
  }
  writeResult(res, result);
}

function firstHeader(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

function methodArn(route: Route): string {
  return `${METHOD_ARN_PREFIX}/${route.method}${route.resource}`;
}

/** IAM-style evaluation of the authorizer's policy for one method: an explicit Deny wins. */
function allows(result: APIGatewayAuthorizerResult, arn: string): boolean {
  let allowed = false;
  for (const statement of result.policyDocument?.Statement ?? []) {
    const resources = 'Resource' in statement ? [statement.Resource].flat() : [];
    if (!resources.some((resource) => arnMatches(String(resource), arn))) continue;
    if (statement.Effect === 'Deny') return false;
    if (statement.Effect === 'Allow') allowed = true;
  }
  return allowed;
}

function arnMatches(pattern: string, arn: string): boolean {
  const regex = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${regex}$`).test(arn);
}

function matchRoute(
  routes: Route[],
  method: string,
  path: string,
): { route: Route; pathParameters: Record<string, string> | null } | 'no-route' {
  const segments = path.split('/').filter(Boolean);
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.resource.split('/').filter(Boolean);
    if (pattern.length !== segments.length) continue;
    const params = new Map<string, string>();
    const matches = pattern.every((part, index) => {
      const segment = segments[index] ?? '';
      if (part.startsWith('{') && part.endsWith('}')) {
        try {
          params.set(part.slice(1, -1), decodeURIComponent(segment));
          return true;
        } catch {
          return false;
        }
      }
      return part === segment;
    });
    if (matches) {
      return { route, pathParameters: params.size > 0 ? Object.fromEntries(params) : null };
    }
  }
  return 'no-route';
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

/**
 * Name → value maps built with Object.fromEntries, so a header or query parameter called
 * `__proto__` or `constructor` is an own property like any other, never the prototype.
 */
function multiMap(pairs: Iterable<[string, string]>): {
  single: Record<string, string>;
  multi: Record<string, string[]>;
} {
  const values = new Map<string, string[]>();
  for (const [name, value] of pairs) values.set(name, [...(values.get(name) ?? []), value]);
  return {
    single: Object.fromEntries([...values].map(([name, list]) => [name, list.at(-1) ?? ''])),
    multi: Object.fromEntries(values),
  };
}

function rawHeaderPairs(raw: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i] ?? '', raw[i + 1] ?? '']);
  return pairs;
}

function toProxyEvent(
  req: IncomingMessage,
  url: URL,
  route: Route,
  pathParameters: Record<string, string> | null,
  requestId: string,
): APIGatewayProxyEvent {
  const headers = multiMap(rawHeaderPairs(req.rawHeaders));
  const query = multiMap(url.searchParams);
  const hasQuery = Object.keys(query.single).length > 0;
  return {
    resource: route.resource,
    path: url.pathname,
    httpMethod: route.method,
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: hasQuery ? query.single : null,
    multiValueQueryStringParameters: hasQuery ? query.multi : null,
    pathParameters,
    stageVariables: null,
    body: null,
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
        apiKey: null,
        apiKeyId: null,
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

function toAuthorizerEvent(event: APIGatewayProxyEvent): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: `${METHOD_ARN_PREFIX}/${event.httpMethod}${event.resource}`,
    resource: event.resource,
    path: event.path,
    httpMethod: event.httpMethod,
    headers: event.headers as Record<string, string>,
    multiValueHeaders: event.multiValueHeaders as Record<string, string[]>,
    pathParameters: event.pathParameters as Record<string, string> | null,
    queryStringParameters: event.queryStringParameters as Record<string, string> | null,
    multiValueQueryStringParameters: event.multiValueQueryStringParameters as Record<
      string,
      string[]
    > | null,
    stageVariables: null,
    requestContext: { ...event.requestContext, authorizer: undefined },
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
  problem: ProblemType,
  detail: string,
  status = problem.status,
): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/problem+json');
  res.end(JSON.stringify(problemBody(problem, detail, {}, status)));
}

/** A function that threw: 502, as API Gateway answers it (DEFAULT_5XX keeps the 502). */
function functionFailed(res: ServerResponse): void {
  gatewayProblem(
    res,
    PROBLEMS.internalError,
    'The function failed; retry with the same Idempotency-Key.',
    502,
  );
}

/** The page a problem type URI leads to: its title and explanation. */
function explainProblem(res: ServerResponse, problem: ProblemType): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(problemExplanation(problem));
}

/** Starts listening on `port` (0 picks a free one) at 127.0.0.1; resolves with the base URL. */
export async function listen(server: Server, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
