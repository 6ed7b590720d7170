import {
  IdempotencyAlreadyInProgressError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyResult } from 'aws-lambda';
import {
  type FieldProblem,
  ForbiddenError,
  IdempotencyKeyReusedError,
  InvalidChargeRequestError,
  InvalidIdempotencyKeyError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
} from '../../domain/errors.ts';
import { countMetric, logger } from '../powertools.ts';

/** An RFC 9457 problem: what went wrong, as JSON the client can act on. */
export interface Problem {
  status: number;
  type: string;
  title: string;
  detail: string;
  errors?: FieldProblem[];
}

type ProblemMapping = {
  error: abstract new (...args: never[]) => Error;
  status: number;
  slug: string;
  title: string;
};

/** The one error-to-HTTP mapping of the API. The first entry whose class matches wins. */
const MAPPINGS: ProblemMapping[] = [
  {
    error: InvalidChargeRequestError,
    status: 400,
    slug: 'invalid-charge-request',
    title: 'The charge request is not valid',
  },
  {
    error: InvalidIdempotencyKeyError,
    status: 400,
    slug: 'invalid-idempotency-key',
    title: 'The Idempotency-Key header is missing or malformed',
  },
  { error: UnauthenticatedError, status: 401, slug: 'unauthenticated', title: 'No API key' },
  { error: ForbiddenError, status: 403, slug: 'forbidden', title: 'The API key is not valid' },
  { error: NotFoundError, status: 404, slug: 'not-found', title: 'Not found' },
  {
    error: IdempotencyAlreadyInProgressError,
    status: 409,
    slug: 'request-in-progress',
    title: 'A request with this Idempotency-Key is still being processed',
  },
  {
    error: PayloadTooLargeError,
    status: 413,
    slug: 'payload-too-large',
    title: 'The body is too large',
  },
  {
    error: UnsupportedMediaTypeError,
    status: 415,
    slug: 'unsupported-media-type',
    title: 'Unsupported content type',
  },
  {
    error: IdempotencyValidationError,
    status: 422,
    slug: 'idempotency-key-reused',
    title: 'The Idempotency-Key was used with a different body',
  },
  {
    error: IdempotencyKeyReusedError,
    status: 422,
    slug: 'idempotency-key-reused',
    title: 'The Idempotency-Key was used with a different body',
  },
];

const IN_FLIGHT_DETAIL =
  'The first request with this key has not finished. Retry with the same key and body after Retry-After seconds.';
const MISMATCH_DETAIL =
  'This Idempotency-Key was already used with a different request body; nothing was charged. Use a new key for a new charge.';

/** The problem for `error`; anything unmapped is a 500 that reveals nothing internal. */
export function problemFor(error: unknown): Problem {
  const mapping = MAPPINGS.find((candidate) => error instanceof candidate.error);
  if (!mapping) {
    return {
      status: 500,
      type: '/problems/internal-error',
      title: 'Internal error',
      detail:
        'The request could not be completed. It is safe to retry with the same Idempotency-Key.',
    };
  }
  const detail =
    mapping.status === 409
      ? IN_FLIGHT_DETAIL
      : mapping.status === 422
        ? MISMATCH_DETAIL
        : (error as Error).message;
  return {
    status: mapping.status,
    type: `/problems/${mapping.slug}`,
    title: mapping.title,
    detail,
    ...(error instanceof InvalidChargeRequestError && error.problems.length > 0
      ? { errors: error.problems }
      : {}),
  };
}

/** An `application/problem+json` response for `problem`. */
export function problemResponse(
  problem: Problem,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode: problem.status,
    headers: { 'Content-Type': 'application/problem+json', ...headers },
    body: JSON.stringify(problem),
  };
}

/**
 * Middy middleware turning any error into a problem+json response. Register it first, so
 * its onError runs after every other middleware's (middy runs onError in reverse order).
 */
export function problemResponses(options: { inFlightRetryAfterSeconds: number }): MiddlewareObj {
  return {
    onError: async (request) => {
      const problem = problemFor(request.error);
      if (problem.status === 409) countMetric('idempotency_key_total', { outcome: 'in_flight' });
      if (problem.status === 422) countMetric('idempotency_key_total', { outcome: 'mismatch' });
      if (problem.status >= 500) logger.error('request failed', { error: request.error as Error });
      const headers: Record<string, string> =
        problem.status === 409 ? { 'Retry-After': String(options.inFlightRetryAfterSeconds) } : {};
      request.response = problemResponse(problem, headers);
    },
  };
}
