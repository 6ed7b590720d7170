/**
 * A local API Gateway (REST API, Lambda proxy integration) in front of the real handlers:
 * routes with path parameters, the REQUEST authorizer on the methods that need an API key,
 * body limits, timeouts and problem+json answers for what the gateway itself refuses. The
 * event format is in api-gateway-events.ts, the authorizer step in api-gateway-authorizer.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import {
  PROBLEMS,
  type ProblemType,
  problemAt,
  problemBody,
  problemExplanation,
} from '../../functions/commons/http/problem-catalogue.ts';
import { type Authorize, allows, cachedAuthorizer, methodArn } from './api-gateway-authorizer.ts';
import { firstHeader, toAuthorizerEvent, toProxyEvent, writeResult } from './api-gateway-events.ts';
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
