import type { APIGatewayProxyResult } from 'aws-lambda';

/** An API Gateway proxy result carrying `body` as JSON. */
export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** Reads a header case-insensitively from an API Gateway event; undefined when absent. */
export function headerValues(
  event: {
    headers?: Record<string, string | undefined> | null;
    multiValueHeaders?: Record<string, string[] | undefined> | null;
  },
  name: string,
): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, list] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === wanted && list) values.push(...list);
  }
  if (values.length > 0) return values;
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) values.push(value);
  }
  return values;
}

/**
 * The path prefix the client called through: `/v1` on the execute-api URL (the stage),
 * nothing behind a custom domain or locally. API Gateway puts the full path the client used
 * in requestContext.path and the resource path in `path`.
 */
export function stagePrefixOf(event: {
  path: string;
  requestContext?: { path?: string } | null;
}): string {
  const called = event.requestContext?.path ?? '';
  return called.endsWith(event.path) ? called.slice(0, called.length - event.path.length) : '';
}
