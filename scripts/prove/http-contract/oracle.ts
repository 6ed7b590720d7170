/**
 * The HTTP contract's oracle (SPEC "HTTP contract"): what the contract requires as the answer
 * to any request, written from the contract, not from the handler's code. A unit test runs it
 * against the real request parser so the two cannot drift apart unnoticed. Also the shapes the
 * fuzz passes around (requests, answers, the world of clients and seeded charges).
 */
import { MIMEType } from 'node:util';
import { type AnyNode, parse as parseJsonTree } from '@humanwhocodes/momoa';
import { SUPPORTED_CURRENCIES } from '../../../functions/domain/currencies.ts';
import { canonicalJson } from '../../../primitives/canonical-json.ts';

/** The allow-list is configuration, not contract: the oracle uses the service's own. */
export const CHARGE_CURRENCIES = SUPPORTED_CURRENCIES;
export const MAX_BODY_BYTES = 16 * 1024;

export interface FuzzClient {
  apiKey: string;
  clientId: string;
}

/** Everything the oracle knows about the server it talks to. */
export interface FuzzWorld {
  clients: FuzzClient[];
  /** Charges made before the fuzz, by owner: for GET /charges/{id} across clients. */
  seeded: { id: string; clientId: string; key: string; body: Record<string, unknown> }[];
  /** Keys several requests share (so replays, mismatches and cross-client reuse happen). */
  sharedKeys: string[];
}

export interface FuzzRequest {
  method: string;
  path: string;
  /** Sent in this order, as given (duplicates and odd casing included); Host is added. */
  headers: [string, string][];
  body: string;
}

export type Expectation =
  | { kind: 'status'; status: number; reason: string }
  /** A valid charge request: 201, or 409/422 depending on the key's history (checked later). */
  | { kind: 'charge'; clientId: string; key: string; canonical: string; body: ChargeBody }
  /** GET of a charge: 200 with that id for its owner, 404 for anybody else. */
  | { kind: 'get'; status: 200 | 404; id: string };

export interface ChargeBody {
  amount: number;
  currency: string;
  customerId: string;
  description?: string;
}

export interface FuzzAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** RFC 8941 §3.3.3: an sf-string, quotes and all; its only escapes are \\" and \\\\. */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;
/** A bare key: visible ASCII without the characters that give a structured field structure. */
const BARE_KEY = /^[\x21\x23-\x27\x2a\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/;
/** An integer as JSON writes it: no fraction, no exponent. */
const INTEGER_LITERAL = /^-?(0|[1-9][0-9]*)$/;
const CUSTOMER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** HTTP drops whitespace around a header value; so does the oracle. */
const received = (value: string): string => value.replace(/^[ \t]+|[ \t]+$/g, '');
const valuesOf = (request: FuzzRequest, name: string): string[] =>
  request.headers
    .filter(([header]) => header.toLowerCase() === name)
    .map(([, value]) => received(value));

/**
 * The Idempotency-Key a header value names (draft-ietf-httpapi-idempotency-key-header: an
 * sf-string, or the same characters bare), or undefined when it names none.
 */
export function idempotencyKeyOf(value: string): string | undefined {
  const quoted = SF_STRING.exec(value);
  const key = quoted ? (quoted[1] ?? '').replace(/\\(["\\])/g, '$1') : value;
  if (!quoted && !BARE_KEY.test(value)) return undefined;
  return key.length >= 1 && key.length <= 255 ? key : undefined;
}

/** Whether a media type is application/json in UTF-8 (no other charset, none twice). */
function isJsonInUtf8(value: string): boolean {
  try {
    const type = new MIMEType(value);
    const charset = type.params.get('charset');
    return (
      type.essence === 'application/json' &&
      (charset === null || charset.toLowerCase() === 'utf-8') &&
      (value.match(/charset\s*=/gi)?.length ?? 0) <= 1
    );
  } catch {
    return false;
  }
}

/**
 * Why a JSON text can be read more than one way, or undefined: a duplicate member name at any
 * depth, or an amount written with a fraction or exponent (which readers round differently).
 */
export function ambiguityOf(text: string): string | undefined {
  let tree: ReturnType<typeof parseJsonTree>;
  try {
    tree = parseJsonTree(text, { ranges: true });
  } catch {
    return undefined;
  }
  // Iterative: a body may nest thousands of levels deep.
  const duplicate = (root: AnyNode): boolean => {
    const pending: AnyNode[] = [root];
    for (let node = pending.pop(); node; node = pending.pop()) {
      if (node.type === 'Array') pending.push(...node.elements.map((element) => element.value));
      if (node.type !== 'Object') continue;
      const names = node.members.map((member) =>
        member.name.type === 'String' ? member.name.value : member.name.name,
      );
      if (new Set(names).size !== names.length) return true;
      pending.push(...node.members.map((member) => member.value));
    }
    return false;
  };
  if (duplicate(tree.body)) return 'duplicate member';
  if (tree.body.type !== 'Object') return undefined;
  for (const member of tree.body.members) {
    const name = member.name.type === 'String' ? member.name.value : member.name.name;
    const range = member.value.range;
    if (name === 'amount' && member.value.type === 'Number' && range) {
      if (!INTEGER_LITERAL.test(text.slice(range[0], range[1])))
        return 'amount not an integer literal';
    }
  }
  return undefined;
}

/** The problem a body has under the charge schema, or undefined when it is valid. */
export function chargeBodyProblem(parsed: unknown): string | undefined {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'not an object';
  const body = parsed as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (!['amount', 'currency', 'customerId', 'description'].includes(key))
      return `unknown field ${key}`;
  }
  const { amount, currency, customerId, description } = body;
  if (
    typeof amount !== 'number' ||
    !Number.isInteger(amount) ||
    amount < 1 ||
    amount > 100_000_000
  ) {
    return 'amount';
  }
  if (
    typeof currency !== 'string' ||
    !(CHARGE_CURRENCIES as readonly string[]).includes(currency)
  ) {
    return 'currency';
  }
  if (typeof customerId !== 'string' || !CUSTOMER_ID.test(customerId)) return 'customerId';
  if ('description' in body && (typeof description !== 'string' || description.length > 500)) {
    return 'description';
  }
  if (typeof description === 'string' && !isStorableText(description))
    return 'description (not storable text)';
  return undefined;
}

/**
 * The contract's "string" read as text the charge can be stored with: PostgreSQL `text` holds
 * neither U+0000 nor a lone surrogate (which UTF-8 cannot encode), so a body carrying one must
 * be refused (400), not fail (500) or be stored as something else than was sent.
 */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

/** What the contract requires for the answer to `request`. */
export function expectationOf(request: FuzzRequest, world: FuzzWorld): Expectation {
  const url = new URL(request.path, 'http://localhost');
  const segments = url.pathname.split('/').filter(Boolean);
  const route =
    segments.length === 1 && segments[0] === 'charge'
      ? 'charge'
      : segments.length === 2 && segments[0] === 'charges'
        ? 'get-charge'
        : undefined;
  if (!route) return { kind: 'status', status: 404, reason: 'no such resource' };
  let chargeId = '';
  if (route === 'get-charge') {
    try {
      chargeId = decodeURIComponent(segments[1] ?? '');
    } catch {
      return { kind: 'status', status: 404, reason: 'undecodable path parameter' };
    }
  }
  // API Gateway answers an unknown method like an unknown resource.
  if (request.method !== (route === 'charge' ? 'POST' : 'GET')) {
    return { kind: 'status', status: 404, reason: 'no such method' };
  }

  // The REQUEST authorizer's identity source: the x-api-key header (the last one, as the
  // proxy event's `headers` carries it).
  const apiKey = valuesOf(request, 'x-api-key').at(-1);
  if (apiKey === undefined || apiKey === '') {
    return { kind: 'status', status: 401, reason: 'no API key' };
  }
  const client = world.clients.find((candidate) => candidate.apiKey === apiKey);
  if (!client) return { kind: 'status', status: 403, reason: 'unknown API key' };

  if (route === 'get-charge') {
    const owned = world.seeded.find(
      (charge) => UUID.test(chargeId) && charge.id === chargeId.toLowerCase(),
    );
    return owned && owned.clientId === client.clientId
      ? { kind: 'get', status: 200, id: owned.id }
      : { kind: 'get', status: 404, id: chargeId };
  }

  const body = Buffer.from(request.body, 'utf8').toString('utf8');
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) {
    return { kind: 'status', status: 413, reason: 'body too large' };
  }
  const contentTypes = valuesOf(request, 'content-type');
  if (contentTypes.length !== 1 || !isJsonInUtf8(contentTypes[0] ?? '')) {
    return { kind: 'status', status: 415, reason: 'not exactly one application/json in UTF-8' };
  }
  const keys = valuesOf(request, 'idempotency-key');
  if (keys.length !== 1) return { kind: 'status', status: 400, reason: `${keys.length} keys` };
  const key = idempotencyKeyOf(keys[0] ?? '');
  if (key === undefined) return { kind: 'status', status: 400, reason: 'malformed key' };
  // U+FFFD in the received text: bytes that were not UTF-8 (or a literal the contract refuses).
  if (body.includes('\ufffd')) return { kind: 'status', status: 400, reason: 'not UTF-8' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { kind: 'status', status: 400, reason: 'malformed JSON' };
  }
  const ambiguity = ambiguityOf(body);
  if (ambiguity) return { kind: 'status', status: 400, reason: ambiguity };
  const problem = chargeBodyProblem(parsed);
  if (problem) return { kind: 'status', status: 400, reason: `invalid body: ${problem}` };
  return {
    kind: 'charge',
    clientId: client.clientId,
    key,
    canonical: canonicalJson(parsed),
    body: parsed as ChargeBody,
  };
}
