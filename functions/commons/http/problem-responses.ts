import {
  IdempotencyAlreadyInProgressError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyResult } from 'aws-lambda';
import {
  type FieldProblem,
  IdempotencyKeyReusedError,
  InvalidChargeRequestError,
  InvalidIdempotencyKeyError,
  NotFoundError,
} from '../../domain/errors.ts';
import { countMetric, logger } from '../powertools.ts';
import { PROBLEMS, type ProblemType, problemBody } from './problem-catalogue.ts';
import {
  PayloadTooLargeError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
} from './transport-errors.ts';

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
  problem: ProblemType;
};

/** The one error-to-problem mapping of the handlers. The first entry whose class matches wins. */
const MAPPINGS: ProblemMapping[] = [
  { error: InvalidChargeRequestError, problem: PROBLEMS.invalidChargeRequest },
  { error: InvalidIdempotencyKeyError, problem: PROBLEMS.invalidIdempotencyKey },
  { error: UnauthenticatedError, problem: PROBLEMS.unauthenticated },
  { error: NotFoundError, problem: PROBLEMS.notFound },
  { error: IdempotencyAlreadyInProgressError, problem: PROBLEMS.requestInProgress },
  { error: PayloadTooLargeError, problem: PROBLEMS.payloadTooLarge },
  { error: UnsupportedMediaTypeError, problem: PROBLEMS.unsupportedMediaType },
  { error: IdempotencyValidationError, problem: PROBLEMS.idempotencyKeyReused },
  { error: IdempotencyKeyReusedError, problem: PROBLEMS.idempotencyKeyReused },
];

/** The problem for `error`; anything unmapped is a 500 that reveals nothing internal. */
export function problemFor(error: unknown): Problem {
  const mapping = MAPPINGS.find((candidate) => error instanceof candidate.error);
  if (!mapping) {
    return problemBody(PROBLEMS.internalError, PROBLEMS.internalError.explanation);
  }
  const { problem } = mapping;
  // 409 and 422 come from Powertools too, whose messages are not written for clients.
  const detail =
    problem === PROBLEMS.requestInProgress || problem === PROBLEMS.idempotencyKeyReused
      ? problem.explanation
      : (error as Error).message;
  return problemBody(
    problem,
    detail,
    error instanceof InvalidChargeRequestError && error.problems.length > 0
      ? { errors: error.problems }
      : {},
  );
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
