import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { headerValues } from '../commons/http/responses.ts';
import { type ChargeCommand, chargeRequestSchema, fingerprintOf } from '../domain/charge.ts';
import {
  InvalidChargeRequestError,
  InvalidIdempotencyKeyError,
  PayloadTooLargeError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
} from '../domain/errors.ts';

export const MAX_BODY_BYTES = 16 * 1024;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const JSON_MEDIA_TYPE = /^application\/json\s*(;.*)?$/i;

/** A POST /charge event; {@link chargeRequestParser} adds the validated command to it. */
export type ChargeEvent = APIGatewayProxyEvent & { charge?: ChargeCommand };

/** The command the parser attached; throws if the middleware chain was assembled without it. */
export function parsedCommand(event: ChargeEvent): ChargeCommand {
  if (!event.charge) throw new Error('chargeRequestParser must run before the charge handler');
  return event.charge;
}

/**
 * Turns the raw API Gateway event into a validated {@link ChargeCommand}, or throws the
 * named error for the first thing wrong with it, before any idempotency record is touched:
 * an invalid request must never claim a key.
 */
export function parseChargeRequest(event: APIGatewayProxyEvent): ChargeCommand {
  // API Gateway has already rejected missing and unknown API keys; the key's id names the client.
  const clientId = event.requestContext?.identity?.apiKeyId;
  if (!clientId) throw new UnauthenticatedError();

  const body = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES)
    throw new PayloadTooLargeError(MAX_BODY_BYTES);

  const contentTypes = headerValues(event, 'content-type');
  if (contentTypes.length !== 1 || !JSON_MEDIA_TYPE.test(contentTypes[0] ?? '')) {
    throw new UnsupportedMediaTypeError();
  }

  const keys = headerValues(event, 'idempotency-key');
  if (keys.length === 0)
    throw new InvalidIdempotencyKeyError(
      'Send an Idempotency-Key header: one key per logical charge, reused on every retry.',
    );
  if (keys.length > 1)
    throw new InvalidIdempotencyKeyError('Send exactly one Idempotency-Key header.');
  const idempotencyKey = keys[0] ?? '';
  if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new InvalidIdempotencyKeyError(
      'The Idempotency-Key must be 1-255 visible ASCII characters (no spaces).',
    );
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidChargeRequestError('The body is not valid JSON.');
  }
  const result = chargeRequestSchema.safeParse(parsed);
  if (!result.success) {
    throw new InvalidChargeRequestError(
      'The body does not match the charge schema.',
      result.error.issues.map((issue) => ({
        field: issue.path.join('.') || '(body)',
        message: issue.message,
      })),
    );
  }
  return {
    clientId,
    idempotencyKey,
    request: result.data,
    fingerprint: fingerprintOf(result.data),
  };
}

/** Middy middleware attaching the parsed command to the event as `event.charge`. */
export function chargeRequestParser(): MiddlewareObj<ChargeEvent> {
  return {
    before: (request) => {
      request.event.charge = parseChargeRequest(request.event);
    },
  };
}
