/**
 * Named errors of the charge domain and of the API's request checks. They carry no HTTP
 * status: functions/commons/http/problem-responses.ts maps each to its response, in one place.
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

/** The caller presented no API key the service can resolve to a client. */
export class UnauthenticatedError extends Error {
  constructor(detail = 'Send your API key in the x-api-key header.') {
    super(detail);
    this.name = 'UnauthenticatedError';
  }
}

/** The caller's API key is not known. */
export class ForbiddenError extends Error {
  constructor(detail = 'The API key is not valid.') {
    super(detail);
    this.name = 'ForbiddenError';
  }
}

/** The request body is not declared as JSON. */
export class UnsupportedMediaTypeError extends Error {
  constructor(detail = 'Send the body as application/json.') {
    super(detail);
    this.name = 'UnsupportedMediaTypeError';
  }
}

/** The request body is larger than the service accepts. */
export class PayloadTooLargeError extends Error {
  constructor(limitBytes: number) {
    super(`The body must be at most ${limitBytes} bytes.`);
    this.name = 'PayloadTooLargeError';
  }
}

/** No such resource for this caller (including one that belongs to another client). */
export class NotFoundError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'NotFoundError';
  }
}
