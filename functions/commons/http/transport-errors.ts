/**
 * Errors of the HTTP transport, decided before a request reaches a use case: who is calling,
 * and whether the body can be read at all. problem-responses.ts maps each to its status.
 */

/** The caller presented no API key the service can resolve to a client. */
export class UnauthenticatedError extends Error {
  constructor(detail = 'Send your API key in the x-api-key header.') {
    super(detail);
    this.name = 'UnauthenticatedError';
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
