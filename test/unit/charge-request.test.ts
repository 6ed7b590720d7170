import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, parseChargeRequest } from '../../functions/charge/parse-charge-request.ts';
import {
  PayloadTooLargeError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
} from '../../functions/commons/http/transport-errors.ts';
import { fingerprintOf } from '../../functions/domain/charge.ts';
import {
  InvalidChargeRequestError,
  InvalidIdempotencyKeyError,
} from '../../functions/domain/errors.ts';

const VALID_BODY = { amount: 1000, currency: 'EUR' as const, customerId: 'cus_1' };

function event(overrides: {
  body?: string | null;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  clientId?: string | null;
  isBase64Encoded?: boolean;
}): APIGatewayProxyEvent {
  return {
    body: overrides.body === undefined ? JSON.stringify(VALID_BODY) : overrides.body,
    headers: overrides.headers ?? {
      'Content-Type': 'application/json',
      'Idempotency-Key': 'key-1',
    },
    multiValueHeaders: overrides.multiValueHeaders ?? {},
    isBase64Encoded: overrides.isBase64Encoded ?? false,
    requestContext: {
      // The API key id must not be read as the client: only the authorizer's context names it.
      identity: { apiKeyId: 'key-id-of-the-gateway' },
      authorizer: { clientId: overrides.clientId === undefined ? 'client-a' : overrides.clientId },
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

  it('rejects a request without a client identity from the authorizer', () => {
    expect(() => parseChargeRequest(event({ clientId: null }))).toThrow(UnauthenticatedError);
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
    ['an empty sf-string', '""'],
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

describe('the Idempotency-Key as an RFC 8941 sf-string', () => {
  const keyOf = (value: string) =>
    parseChargeRequest(
      event({ headers: { 'Content-Type': 'application/json', 'Idempotency-Key': value } }),
    ).idempotencyKey;

  it.each([
    ['"k"', 'k'],
    ['k', 'k'],
    ['"8e03978e-40d5-43e8-bc93-6894a57f9324"', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['8e03978e-40d5-43e8-bc93-6894a57f9324', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['"a\\"b"', 'a"b'],
    ['"a\\\\b"', 'a\\b'],
    ['"with space"', 'with space'],
  ])('reads %s as the key %s', (header, key) => {
    expect(keyOf(header)).toBe(key);
  });

  it.each([
    ['an unterminated sf-string', '"k', /broken quoting/],
    ['a quote inside a bare key', 'k"', /broken quoting/],
    ['text after the sf-string', '"k"x', /broken quoting/],
    ['an escape other than \\" and \\\\', '"a\\x"', /broken quoting/],
    ['a backslash in a bare key', 'a\\b', /broken quoting/],
    ['parameters on an sf-string', '"k";a=1', /without parameters/],
    ['parameters on a bare key', 'k;a=1', /without parameters/],
    ['an inner list', '("a" "b")', /not an inner list/],
    ['a list', '"a", "b"', /not a list/],
    ['a non-ASCII sf-string', '"clé"', /broken quoting|sf-string/],
  ])('refuses %s naming the rule', (_name, header, rule) => {
    expect(() => keyOf(header)).toThrow(InvalidIdempotencyKeyError);
    expect(() => keyOf(header)).toThrow(rule);
  });
});

describe('a body that is read one way only', () => {
  const bodyOf = (body: string, headers: Record<string, string> = {}) =>
    event({
      body,
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k', ...headers },
    });

  it.each([
    ['a duplicate amount', '{"amount":1,"currency":"EUR","customerId":"c","amount":999999}'],
    [
      'a duplicate nested member',
      '{"amount":1,"currency":"EUR","customerId":"c","x":{"a":1,"a":2}}',
    ],
    [
      'a fractional amount that rounds',
      '{"amount":99999999.999999999,"currency":"EUR","customerId":"c"}',
    ],
    ['a fraction of zero', '{"amount":1000.0,"currency":"EUR","customerId":"c"}'],
    ['a tiny fraction', '{"amount":1000.00000000000001,"currency":"EUR","customerId":"c"}'],
    ['an exponent', '{"amount":1e3,"currency":"EUR","customerId":"c"}'],
    ['an upper-case exponent', '{"amount":10E2,"currency":"EUR","customerId":"c"}'],
  ])('refuses %s with 400', (_name, body) => {
    expect(() => parseChargeRequest(bodyOf(body))).toThrow(InvalidChargeRequestError);
  });

  it('names the duplicate member and the amount rule', () => {
    const duplicate = bodyOf('{"amount":1,"amount":2,"currency":"EUR","customerId":"c"}');
    expect(() => parseChargeRequest(duplicate)).toThrow(
      expect.objectContaining({
        problems: [{ field: '(body)', message: 'duplicate member "amount"' }],
      }),
    );
    const fraction = bodyOf('{"amount":1.0,"currency":"EUR","customerId":"c"}');
    expect(() => parseChargeRequest(fraction)).toThrow(
      expect.objectContaining({ problems: [expect.objectContaining({ field: 'amount' })] }),
    );
  });

  it('keeps __proto__ an unknown field, not a prototype', () => {
    const body = bodyOf('{"amount":1,"currency":"EUR","customerId":"c","__proto__":{"x":1}}');
    expect(() => parseChargeRequest(body)).toThrow(/schema/);
  });

  it.each([
    ['utf-16', 'application/json; charset=utf-16'],
    ['latin-1', 'application/json; charset=ISO-8859-1'],
    ['two charsets', 'application/json; charset=utf-8; charset=utf-16'],
  ])('refuses a %s charset with 415', (_name, contentType) => {
    const request = bodyOf(JSON.stringify(VALID_BODY), { 'Content-Type': contentType });
    expect(() => parseChargeRequest(request)).toThrow(UnsupportedMediaTypeError);
  });

  it('accepts utf-8 however it is spelled', () => {
    for (const contentType of [
      'application/json; charset=UTF-8',
      'application/json;charset="utf-8"',
    ]) {
      const request = bodyOf(JSON.stringify(VALID_BODY), { 'Content-Type': contentType });
      expect(parseChargeRequest(request).request).toEqual(VALID_BODY);
    }
  });

  it('refuses invalid UTF-8, whether the gateway passed the bytes or replaced them', () => {
    const bytes = Buffer.concat([
      Buffer.from('{"amount":1000,"currency":"EUR","customerId":"c","description":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const binary = event({ body: bytes.toString('base64'), isBase64Encoded: true });
    expect(() => parseChargeRequest(binary)).toThrow(/UTF-8/);
    expect(() => parseChargeRequest(bodyOf(bytes.toString('utf8')))).toThrow(/UTF-8/);
    // U+FFFD written as an escape is text the client chose: accepted.
    const escaped = '{"amount":1000,"currency":"EUR","customerId":"c","description":"\\ufffd"}';
    expect(parseChargeRequest(bodyOf(escaped)).request.description).toBe('\ufffd');
  });
});
