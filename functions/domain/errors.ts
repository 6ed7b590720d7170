/**
 * Named errors of the charge domain. They carry no HTTP status:
 * functions/commons/http/problem-responses.ts maps each to its response, in one place. Errors
 * of the transport itself (no API key, a body too large or not JSON) are in
 * functions/commons/http/transport-errors.ts.
 */

/** One field of a request body that failed validation, and why. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** The body is not a valid charge request. */
export class InvalidChargeRequestError extends Error {
  readonly problems: FieldProblem[];
  constructor(detail: string, problems: FieldProblem[] = []) {
    super(detail);
    this.name = 'InvalidChargeRequestError';
    this.problems = problems;
  }
}

/** The Idempotency-Key header is missing or not 1-255 visible ASCII characters. */
export class InvalidIdempotencyKeyError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'InvalidIdempotencyKeyError';
  }
}

/** The key was already used by this client for a different request body. */
export class IdempotencyKeyReusedError extends Error {
  constructor() {
    super(
      'This Idempotency-Key was already used with a different request body; nothing was charged.',
    );
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** No such resource for this caller (including one that belongs to another client). */
export class NotFoundError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'NotFoundError';
  }
}
