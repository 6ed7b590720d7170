import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, parseChargeRequest } from '../../functions/charge/parse-charge-request.ts';
import { fingerprintOf } from '../../functions/domain/charge.ts';
import {
  InvalidChargeRequestError,
  InvalidIdempotencyKeyError,
  PayloadTooLargeError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
} from '../../functions/domain/errors.ts';

const VALID_BODY = { amount: 1000, currency: 'EUR' as const, customerId: 'cus_1' };

function event(overrides: {
  body?: string | null;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  apiKeyId?: string | null;
}): APIGatewayProxyEvent {
  return {
    body: overrides.body === undefined ? JSON.stringify(VALID_BODY) : overrides.body,
    headers: overrides.headers ?? {
      'Content-Type': 'application/json',
      'Idempotency-Key': 'key-1',
    },
    multiValueHeaders: overrides.multiValueHeaders ?? {},
    isBase64Encoded: false,
    requestContext: {
      identity: { apiKeyId: overrides.apiKeyId === undefined ? 'client-a' : overrides.apiKeyId },
    },
  } as unknown as APIGatewayProxyEvent;
}

describe('parseChargeRequest', () => {
  it('returns the command for a valid request, keyed by client and Idempotency-Key', () => {
    const command = parseChargeRequest(event({}));
    expect(command).toEqual({
      clientId: 'client-a',
      idempotencyKey: 'key-1',
      request: VALID_BODY,
      fingerprint: fingerprintOf(VALID_BODY),
    });
  });

  it('reads headers case-insensitively and accepts a charset parameter', () => {
    const command = parseChargeRequest(
      event({
        headers: { 'content-type': 'application/json; charset=utf-8', 'idempotency-key': 'k' },
      }),
    );
    expect(command.idempotencyKey).toBe('k');
  });

  it('rejects a request without a client identity', () => {
    expect(() => parseChargeRequest(event({ apiKeyId: null }))).toThrow(UnauthenticatedError);
  });

  it.each([
    ['missing', {}],
    ['text/plain', { 'Content-Type': 'text/plain' }],
    ['form', { 'Content-Type': 'application/x-www-form-urlencoded' }],
  ])('rejects a %s content type with 415', (_name, headers) => {
    expect(() =>
      parseChargeRequest(event({ headers: { 'Idempotency-Key': 'k', ...headers } })),
    ).toThrow(UnsupportedMediaTypeError);
  });

  it('rejects a body over 16 KiB with 413, counting bytes, not characters', () => {
    const description = 'é'.repeat(MAX_BODY_BYTES / 2);
    const body = JSON.stringify({ ...VALID_BODY, description });
    expect(body.length).toBeLessThan(MAX_BODY_BYTES + 100);
    expect(() => parseChargeRequest(event({ body }))).toThrow(PayloadTooLargeError);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['containing a space', 'a b'],
    ['non-ASCII', 'clé'],
    ['longer than 255 characters', 'k'.repeat(256)],
  ])('rejects an Idempotency-Key that is %s', (_name, key) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (key !== undefined) headers['Idempotency-Key'] = key;
    expect(() => parseChargeRequest(event({ headers }))).toThrow(InvalidIdempotencyKeyError);
  });

  it('accepts a 255-character key of visible ASCII', () => {
    const key = `${'!~'.repeat(127)}x`;
    expect(
      parseChargeRequest(
        event({ headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key } }),
      ).idempotencyKey,
    ).toBe(key);
  });

  it('rejects two different Idempotency-Key headers', () => {
    const multiValueHeaders = {
      'Content-Type': ['application/json'],
      'Idempotency-Key': ['a', 'b'],
    };
    expect(() => parseChargeRequest(event({ multiValueHeaders }))).toThrow(
      InvalidIdempotencyKeyError,
    );
  });

  it.each([
    ['malformed JSON', '{"amount":'],
    ['an array', '[]'],
    ['a zero amount', JSON.stringify({ ...VALID_BODY, amount: 0 })],
    ['a fractional amount', JSON.stringify({ ...VALID_BODY, amount: 10.5 })],
    ['an amount over the maximum', JSON.stringify({ ...VALID_BODY, amount: 100_000_001 })],
    ['an amount as a string', JSON.stringify({ ...VALID_BODY, amount: '1000' })],
    ['an unsupported currency', JSON.stringify({ ...VALID_BODY, currency: 'XXX' })],
    ['a lower-case currency', JSON.stringify({ ...VALID_BODY, currency: 'eur' })],
    ['a customer id with a slash', JSON.stringify({ ...VALID_BODY, customerId: 'a/b' })],
    [
      'a customer id of 65 characters',
      JSON.stringify({ ...VALID_BODY, customerId: 'c'.repeat(65) }),
    ],
    [
      'a description over 500 characters',
      JSON.stringify({ ...VALID_BODY, description: 'd'.repeat(501) }),
    ],
    ['an unknown field', JSON.stringify({ ...VALID_BODY, capture: true })],
    [
      'a description with a NUL character',
      JSON.stringify({ ...VALID_BODY, description: 'a\u0000b' }),
    ],
    [
      'a description with a lone surrogate',
      `{"amount":1000,"currency":"EUR","customerId":"c","description":"\\ud800"}`,
    ],
    ['a missing field', JSON.stringify({ amount: 1000, currency: 'EUR' })],
    ['an empty body', null],
  ])('rejects %s with 400', (_name, body) => {
    expect(() => parseChargeRequest(event({ body }))).toThrow(InvalidChargeRequestError);
  });

  it('names the offending fields', () => {
    try {
      parseChargeRequest(event({ body: JSON.stringify({ ...VALID_BODY, amount: -1, extra: 1 }) }));
      expect.unreachable('parse should fail');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidChargeRequestError);
      const fields = (error as InvalidChargeRequestError).problems.map((problem) => problem.field);
      expect(fields).toContain('amount');
      expect(fields).toContain('(body)');
    }
  });
});

describe('fingerprintOf', () => {
  it('does not depend on key order', () => {
    expect(fingerprintOf({ currency: 'EUR', customerId: 'cus_1', amount: 1000 })).toBe(
      fingerprintOf(VALID_BODY),
    );
  });

  it('changes when any field changes', () => {
    const base = fingerprintOf(VALID_BODY);
    expect(fingerprintOf({ ...VALID_BODY, amount: 1001 })).not.toBe(base);
    expect(fingerprintOf({ ...VALID_BODY, currency: 'USD' })).not.toBe(base);
    expect(fingerprintOf({ ...VALID_BODY, description: '' })).not.toBe(base);
  });

  it('is SHA-256 of the canonical JSON', async () => {
    const { createHash } = await import('node:crypto');
    const canonical = '{"amount":1000,"currency":"EUR","customerId":"cus_1"}';
    expect(fingerprintOf(VALID_BODY)).toBe(
      createHash('sha256').update(canonical).digest('base64url'),
    );
  });
});
