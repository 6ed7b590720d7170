import { MIMEType } from 'node:util';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { authorizedClientId } from '../commons/http/client-identity.ts';
import { headerValues } from '../commons/http/responses.ts';
import {
  PayloadTooLargeError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
} from '../commons/http/transport-errors.ts';
import { type ChargeCommand, chargeRequestSchema, fingerprintOf } from '../domain/charge.ts';
import { InvalidChargeRequestError, InvalidIdempotencyKeyError } from '../domain/errors.ts';
import { idempotencyKeyFromHeader } from './idempotency-key-header.ts';
import { AmbiguousJsonError, parseStrictJson } from './strict-json.ts';

/** The largest body POST /charge accepts (413 above it). */
export const MAX_BODY_BYTES = 16 * 1024;
/** An integer as JSON writes it: no fraction, no exponent (`1.0` and `1e3` are not). */
const INTEGER_LITERAL = /^-?(0|[1-9][0-9]*)$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The API Gateway event of a POST /charge (not to be confused with a charge event, the outbox
 * message); {@link chargeRequestParser} adds the validated command to it.
 */
export type ChargeRequestEvent = APIGatewayProxyEvent & { charge?: ChargeCommand };

/** The command the parser attached; throws if the middleware chain was assembled without it. */
export function parsedCommand(event: ChargeRequestEvent): ChargeCommand {
  if (!event.charge) throw new Error('chargeRequestParser must run before the charge handler');
  return event.charge;
}

/**
 * Turns the raw API Gateway event into a validated {@link ChargeCommand}, or throws the
 * named error for the first thing wrong with it, before any idempotency record is touched:
 * an invalid request must never claim a key. What is fingerprinted is exactly what is
 * charged: a body any reader could read differently (duplicate members, a rounded amount,
 * another charset, bytes that are not UTF-8) is refused rather than interpreted.
 */
export function parseChargeRequest(event: APIGatewayProxyEvent): ChargeCommand {
  const clientId = authorizedClientId(event);
  if (!clientId) throw new UnauthenticatedError();

  const body = bodyText(event);
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES)
    throw new PayloadTooLargeError(MAX_BODY_BYTES);
  checkMediaType(headerValues(event, 'content-type'));

  const keys = headerValues(event, 'idempotency-key');
  if (keys.length === 0)
    throw new InvalidIdempotencyKeyError(
      'Send an Idempotency-Key header: one key per logical charge, reused on every retry.',
    );
  if (keys.length > 1)
    throw new InvalidIdempotencyKeyError('Send exactly one Idempotency-Key header.');
  const idempotencyKey = idempotencyKeyFromHeader(keys[0] ?? '');

  const request = chargeRequestOf(body);
  return { clientId, idempotencyKey, request, fingerprint: fingerprintOf(request) };
}

/**
 * The body as text. A binary (base64) body must be valid UTF-8; a text body that holds
 * U+FFFD had bytes replaced on the way (a gateway decoding invalid UTF-8), so what the client
 * sent is unknown. A client that means U+FFFD writes it as the escape `\ufffd`.
 */
function bodyText(event: APIGatewayProxyEvent): string {
  if (!event.isBase64Encoded) {
    const text = event.body ?? '';
    if (text.includes('\ufffd')) throw invalidUtf8();
    return text;
  }
  const bytes = Buffer.from(event.body ?? '', 'base64');
  if (bytes.length > MAX_BODY_BYTES * 4) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  try {
    return UTF8.decode(bytes);
  } catch {
    throw invalidUtf8();
  }
}

function invalidUtf8(): InvalidChargeRequestError {
  return new InvalidChargeRequestError(
    'The body is not valid UTF-8 (or holds a literal U+FFFD: write it as \\ufffd).',
  );
}

/** application/json, in UTF-8 only (read with Node's WHATWG MIME type parser). */
function checkMediaType(values: string[]): void {
  if (values.length !== 1) throw new UnsupportedMediaTypeError();
  const header = values[0] ?? '';
  let mediaType: MIMEType;
  try {
    mediaType = new MIMEType(header);
  } catch {
    throw new UnsupportedMediaTypeError();
  }
  if (mediaType.essence !== 'application/json') throw new UnsupportedMediaTypeError();
  const charset = mediaType.params.get('charset');
  // The parser keeps the first of two charsets; another reader may keep the last.
  const charsets = header.match(/charset\s*=/gi)?.length ?? 0;
  if ((charset !== null && charset.toLowerCase() !== 'utf-8') || charsets > 1) {
    throw new UnsupportedMediaTypeError(
      `The charset ${JSON.stringify(charset)} is not supported: send the body as UTF-8, with one charset parameter at most.`,
    );
  }
}

function chargeRequestOf(body: string) {
  let json: ReturnType<typeof parseStrictJson>;
  try {
    json = parseStrictJson(body);
  } catch (error) {
    if (error instanceof AmbiguousJsonError) {
      throw new InvalidChargeRequestError('The body is ambiguous JSON.', [
        { field: '(body)', message: error.message },
      ]);
    }
    throw new InvalidChargeRequestError('The body is not valid JSON.');
  }
  const amountLiteral = json.literalOf('amount');
  if (
    amountLiteral !== undefined &&
    /^[-0-9]/.test(amountLiteral) &&
    !INTEGER_LITERAL.test(amountLiteral)
  ) {
    throw new InvalidChargeRequestError('The body does not match the charge schema.', [
      {
        field: 'amount',
        message: 'must be written as an integer number of minor units (no fraction, no exponent)',
      },
    ]);
  }
  const result = chargeRequestSchema.safeParse(json.value);
  if (!result.success) {
    throw new InvalidChargeRequestError(
      'The body does not match the charge schema.',
      result.error.issues.map((issue) => ({
        field: issue.path.join('.') || '(body)',
        message: issue.message,
      })),
    );
  }
  return result.data;
}

/** Middy middleware attaching the parsed command to the event as `event.charge`. */
export function chargeRequestParser(): MiddlewareObj<ChargeRequestEvent> {
  return {
    before: (request) => {
      request.event.charge = parseChargeRequest(request.event);
    },
  };
}
