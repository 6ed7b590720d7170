import { parseItem, parseList } from 'structured-headers';
import { InvalidIdempotencyKeyError } from '../domain/errors.ts';

const MAX_KEY_LENGTH = 255;
/** Visible ASCII without the characters that give a structured field its structure. */
const BARE_KEY = /^[\x21-\x7e]+$/;
const STRUCTURE = /["\\;,()]/;
/** What an sf-string may hold once unquoted (RFC 8941 §3.3.3): printable ASCII and space. */
const SF_STRING_CHARACTERS = /^[\x20-\x7e]+$/;

/**
 * The key an Idempotency-Key header value names (draft-ietf-httpapi-idempotency-key-header:
 * an RFC 8941 sf-string). `"k"` is unquoted (with its `\"` and `\\` escapes); a bare `k` of
 * visible ASCII without structural characters is the same key, as clients that follow Stripe
 * send it. Anything else (broken quoting, parameters, inner lists, several members) is
 * refused naming the rule, before any key is claimed.
 *
 * The sf-string is read with `structured-headers` (RFC 8941/9651); only the bare form, which
 * is not a structured field at all, is checked here.
 */
export function idempotencyKeyFromHeader(value: string): string {
  const key = value.startsWith('"') ? unquoted(value) : bare(value);
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new InvalidIdempotencyKeyError(
      `The Idempotency-Key must be 1-${MAX_KEY_LENGTH} characters long.`,
    );
  }
  return key;
}

function unquoted(value: string): string {
  let item: ReturnType<typeof parseItem>;
  try {
    item = parseItem(value);
  } catch {
    if (isList(value)) throw listError();
    throw new InvalidIdempotencyKeyError(
      'The Idempotency-Key has broken quoting: an sf-string (RFC 8941 §3.3.3) is one "..." ' +
        'whose only escapes are \\" and \\\\.',
    );
  }
  const [key, parameters] = item;
  if (parameters.size > 0) throw parametersError();
  if (typeof key !== 'string' || !SF_STRING_CHARACTERS.test(key)) {
    throw new InvalidIdempotencyKeyError('The Idempotency-Key must be an sf-string (RFC 8941).');
  }
  return key;
}

function bare(value: string): string {
  if (value.startsWith('(')) {
    throw new InvalidIdempotencyKeyError(
      'The Idempotency-Key must be one sf-string (RFC 8941), not an inner list (...).',
    );
  }
  if (value.includes(';')) throw parametersError();
  if (value.includes(',')) throw listError();
  if (STRUCTURE.test(value)) {
    throw new InvalidIdempotencyKeyError(
      'The Idempotency-Key has broken quoting: quote the whole key as an sf-string ("...") ' +
        'or send it bare without " or \\.',
    );
  }
  if (!BARE_KEY.test(value)) {
    throw new InvalidIdempotencyKeyError(
      'A bare Idempotency-Key must be visible ASCII characters (no spaces); quote it as an ' +
        'sf-string ("...") to include spaces.',
    );
  }
  return value;
}

function parametersError(): InvalidIdempotencyKeyError {
  return new InvalidIdempotencyKeyError(
    'The Idempotency-Key must be a plain sf-string (RFC 8941), without parameters (;...).',
  );
}

function isList(value: string): boolean {
  try {
    return parseList(value).length > 1;
  } catch {
    return false;
  }
}

function listError(): InvalidIdempotencyKeyError {
  return new InvalidIdempotencyKeyError(
    'The Idempotency-Key must be one sf-string (RFC 8941), not a list.',
  );
}
