/**
 * A property-based fuzz of the HTTP contract (SPEC "HTTP contract"): fast-check arbitraries
 * of whole requests (method, path, raw header list with duplicates and odd casing, body
 * bytes), an oracle that says what the contract requires for each, a keep-alive sender, and
 * the checks that need more than one answer (same key, same client) or the database.
 *
 * The oracle is written from the contract, not from the handler's code; a unit test runs it
 * against the real request parser so the two cannot drift apart unnoticed.
 */
import { Agent } from 'node:http';
import { MIMEType } from 'node:util';
import { type AnyNode, parse as parseJsonTree } from '@humanwhocodes/momoa';
import fc from 'fast-check';
import { SUPPORTED_CURRENCIES } from '../../functions/domain/currencies.ts';
import { canonicalJson } from '../../primitives/canonical-json.ts';
import { exchange } from '../http/exchange.ts';

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

// ---------------------------------------------------------------------------------------
// The oracle

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

// ---------------------------------------------------------------------------------------
// Arbitraries

const visibleAscii = fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code));
/** Header-safe text (what an HTTP/1.1 client can put in a value): tab, printable, obs-text. */
const headerText = fc.oneof(
  fc.string({ unit: visibleAscii, maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
  fc.string({
    unit: fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
    minLength: 1,
    maxLength: 8,
  }),
  fc.constantFrom('', ' ', '\t', 'null', 'undefined', '../../etc/passwd', '%00', '\\u0000'),
);

const validBody: fc.Arbitrary<ChargeBody> = fc.record(
  {
    amount: fc.oneof(
      fc.integer({ min: 1, max: 100_000_000 }),
      fc.constantFrom(1, 100_000_000, 99_999_999),
    ),
    currency: fc.constantFrom(...CHARGE_CURRENCIES),
    customerId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    description: fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom(
        '',
        'x'.repeat(500),
        '💳'.repeat(250),
        '<script>alert(1)</script>',
        "'; DROP TABLE charges; --",
      ),
    ),
  },
  { requiredKeys: ['amount', 'currency', 'customerId'] },
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    -0,
    0.5,
    1.5,
    100_000_001,
    2 ** 53,
    2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER,
    1e308,
    -1e308,
    '1000',
    '',
    'EUR',
    'eur',
    'XXX',
    'EUR ',
    null,
    true,
    false,
    [],
    [1000],
    {},
    { amount: 1000 },
    'a'.repeat(65),
    'cus 1',
    'cüs',
    'x'.repeat(501),
    '\u0000',
    '\ud800',
    '𝟙𝟘𝟘𝟘',
    '١٠٠٠',
  ),
  fc.double(),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** A valid body with one field broken, one missing, or one too many. */
const brokenBody: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    validBody,
    fc.constantFrom(
      'amount',
      'currency',
      'customerId',
      'description',
      'extra',
      '__proto__',
      'constructor',
      'Amount',
    ),
    hostileValue,
    fc.boolean(),
  )
  .map(([body, field, value, remove]) => {
    const copy: Record<string, unknown> = { ...body };
    if (remove && field in copy) delete copy[field];
    else
      Object.defineProperty(copy, field, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return copy;
  });

/** JSON texts JSON.stringify would never write. */
const oddJsonText: fc.Arbitrary<string> = fc.oneof(
  validBody.map((body) => JSON.stringify(body).replace(/"amount":(\d+)/, '"amount":$1.0')),
  validBody.map((body) => JSON.stringify(body).replace(/"amount":(\d+)/, '"amount":$1e0')),
  validBody.map((body) => JSON.stringify(body).replace(/"amount":(\d+)/, '"amount":1e400')),
  validBody.map((body) => JSON.stringify(body).replace(/"amount":(\d+)/, '"amount":-0')),
  validBody.map((body) =>
    JSON.stringify(body).replace(/"amount":(\d+)/, '"amount":100000000.0000000001'),
  ),
  validBody.map((body) =>
    JSON.stringify(body).replace(/"amount":(\d+)/, '"amount":$1,"amount":"twice"'),
  ),
  validBody.map((body) => JSON.stringify(body).replace('{', '{"currency":"XXX",')),
  validBody.map((body) => `\ufeff${JSON.stringify(body)}`),
  validBody.map((body) => ` \n\t${JSON.stringify(body, null, 2)}\r\n `),
  validBody.map((body) => JSON.stringify(body).slice(0, -1)),
  validBody.map((body) => `${JSON.stringify(body)},`),
  validBody.map((body) => JSON.stringify(body).replace('"amount"', "'amount'")),
  validBody.map((body) =>
    JSON.stringify(body).replace(/"currency":"(\w+)"/, '"currency":"\\u0045UR"'),
  ),
  validBody.map((body) => JSON.stringify({ ...body, description: 'x'.repeat(17_000) })),
  fc.constantFrom(
    '',
    'null',
    '[]',
    '{}',
    '"charge"',
    'NaN',
    'Infinity',
    '{"amount":1000,}',
    '{{}}',
    '[{"amount":1000}]',
    '{"__proto__":{"amount":1}}',
  ),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'null'),
  fc.nat({ max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
);

export interface RequestArbitraryOptions {
  world: FuzzWorld;
  /** A few bodies per shared key, so the same key comes back with the same or another body. */
  sharedBodies: ChargeBody[];
}

/** fast-check arbitrary of whole requests, weighted towards ones that reach the handler. */
export function requestArbitrary(options: RequestArbitraryOptions): fc.Arbitrary<FuzzRequest> {
  const { world } = options;
  const [first, second] = world.clients;
  if (!first || !second) throw new Error('the fuzz needs two clients');

  const apiKeyHeaders: fc.Arbitrary<[string, string][]> = fc.oneof(
    {
      weight: 10,
      arbitrary: fc
        .constantFrom(...world.clients)
        .map((client) => [['x-api-key', client.apiKey]] as [string, string][]),
    },
    { weight: 1, arbitrary: fc.constant<[string, string][]>([]) },
    {
      weight: 1,
      arbitrary: headerText.map((value) => [['x-api-key', value]] as [string, string][]),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<[string, string][]>(
        [['X-API-KEY', first.apiKey]],
        [['x-api-key', ` ${second.apiKey}\t`]],
        [
          ['x-api-key', first.apiKey],
          ['x-api-key', second.apiKey],
        ],
        [['x-api-key', first.apiKey.toUpperCase()]],
        [['x-api-key', `${first.apiKey}x`]],
      ),
    },
  );
  const sharedKey = fc.constantFrom(
    ...world.sharedKeys,
    ...world.seeded.map((charge) => charge.key),
  );
  const idempotencyKeyHeaders: fc.Arbitrary<[string, string][]> = fc.oneof(
    {
      weight: 6,
      arbitrary: sharedKey.map((key) => [['Idempotency-Key', key]] as [string, string][]),
    },
    // The same keys as RFC 8941 sf-strings: one key with the bare form, never two charges.
    {
      weight: 3,
      arbitrary: sharedKey.map((key) => [['Idempotency-Key', `"${key}"`]] as [string, string][]),
    },
    {
      weight: 6,
      arbitrary: fc.uuid().map((key) => [['Idempotency-Key', key]] as [string, string][]),
    },
    {
      weight: 2,
      arbitrary: fc
        .string({ unit: visibleAscii, minLength: 1, maxLength: 255 })
        .map((key) => [['idempotency-key', key]] as [string, string][]),
    },
    {
      weight: 2,
      arbitrary: headerText.map((key) => [['Idempotency-Key', key]] as [string, string][]),
    },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constant<[string, string][]>([]),
        fc.constant<[string, string][]>([['Idempotency-Key', 'k'.repeat(256)]]),
        fc.constant<[string, string][]>([['Idempotency-Key', 'k'.repeat(255)]]),
        fc.constant<[string, string][]>([['Idempotency-Key', 'two words']]),
        fc.tuple(fc.uuid(), fc.uuid()).map(
          ([a, b]) =>
            [
              ['Idempotency-Key', a],
              ['idempotency-key', b],
            ] as [string, string][],
        ),
        fc.uuid().map(
          (key) =>
            [
              ['Idempotency-Key', key],
              ['Idempotency-Key', key],
            ] as [string, string][],
        ),
        fc.uuid().map((key) => [['IDEMPOTENCY-KEY', `  ${key}  `]] as [string, string][]),
      ),
    },
  );
  const contentTypeHeaders: fc.Arbitrary<[string, string][]> = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.constant<[string, string][]>([['Content-Type', 'application/json']]),
    },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(
          'application/json; charset=utf-8',
          'application/json; charset=utf-16',
          'application/json; charset="UTF-8"',
          'Application/JSON',
          'application/json ; foo=bar',
          'application/json;',
          'text/plain',
          'application/jsonp',
          'application/problem+json',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          '',
          '*/*',
          'application/ json',
          'json',
        )
        .map((type) => [['Content-Type', type]] as [string, string][]),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constant<[string, string][]>([]),
        fc.constant<[string, string][]>([
          ['Content-Type', 'application/json'],
          ['content-type', 'application/json'],
        ]),
        fc.constant<[string, string][]>([
          ['Content-Type', 'application/json'],
          ['Content-Type', 'text/plain'],
        ]),
        headerText.map((type) => [['Content-Type', type]] as [string, string][]),
      ),
    },
  );
  const body: fc.Arbitrary<string> = fc.oneof(
    { weight: 8, arbitrary: validBody.map((value) => JSON.stringify(value)) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(...options.sharedBodies).map((value) => JSON.stringify(value)),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...world.seeded.map((charge) => JSON.stringify(charge.body))),
    },
    { weight: 5, arbitrary: brokenBody.map((value) => JSON.stringify(value)) },
    { weight: 4, arbitrary: oddJsonText },
  );
  const extraHeaders: fc.Arbitrary<[string, string][]> = fc.oneof(
    { weight: 6, arbitrary: fc.constant<[string, string][]>([]) },
    {
      weight: 1,
      arbitrary: fc.array(
        fc.tuple(
          fc.constantFrom(
            'X-Forwarded-For',
            'Accept',
            'X-Amzn-Trace-Id',
            'Idempotent-Replayed',
            'Authorization',
            'X-Client-Id',
            'Cookie',
            '__proto__',
            'constructor',
            'toString',
          ),
          headerText,
        ),
        { maxLength: 3 },
      ),
    },
  );
  const charge = fc
    .tuple(
      apiKeyHeaders,
      idempotencyKeyHeaders,
      contentTypeHeaders,
      extraHeaders,
      body,
      fc.boolean(),
    )
    .chain(([api, key, type, extra, text, shuffle]) => {
      const headers = [...api, ...key, ...type, ...extra];
      return (
        shuffle ? fc.shuffledSubarray(headers, { minLength: headers.length }) : fc.constant(headers)
      ).map((ordered) => ({
        method: 'POST',
        path: '/charge',
        headers: ordered,
        body: text,
      }));
    });
  // Another client's key with that client's exact body: must make the sender's own charge.
  const crossClient = fc.constantFrom(...world.seeded).map((seeded) => {
    const other = world.clients.find((client) => client.clientId !== seeded.clientId) ?? first;
    return {
      method: 'POST',
      path: '/charge',
      headers: [
        ['x-api-key', other.apiKey],
        ['Idempotency-Key', seeded.key],
        ['Content-Type', 'application/json'],
      ] as [string, string][],
      body: JSON.stringify(seeded.body),
    };
  });
  const chargeId = fc.oneof(
    fc.constantFrom(...world.seeded.map((seeded) => seeded.id)),
    fc.constantFrom(...world.seeded.map((seeded) => seeded.id.toUpperCase())),
    fc.uuid(),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map(encodeURIComponent),
    fc.constantFrom('%ZZ', '..%2F..%2Fetc', "1'%20OR%20'1'='1", '%00', 'null', '-1', '0'),
  );
  const getCharge = fc.tuple(apiKeyHeaders, chargeId).map(([api, id]) => ({
    method: 'GET',
    path: `/charges/${id}`,
    headers: api,
    body: '',
  }));
  const elsewhere = fc
    .tuple(
      fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'POST'),
      fc.constantFrom(
        '/charge',
        '/charges',
        '/charge/x',
        '/CHARGE',
        '/nope',
        '/charges/a/b',
        '/charge?x=1',
      ),
      apiKeyHeaders,
    )
    .map(([method, path, api]) => ({
      method,
      path,
      headers: [...api, ['Content-Type', 'application/json']] as [string, string][],
      body: method === 'GET' ? '' : '{}',
    }));
  return fc.oneof(
    { weight: 16, arbitrary: charge },
    { weight: 1, arbitrary: crossClient },
    { weight: 3, arbitrary: getCharge },
    { weight: 1, arbitrary: elsewhere },
  );
}

// ---------------------------------------------------------------------------------------
// Sending

/** Sends requests over keep-alive connections to `baseUrl`, headers exactly as listed. */
export function createSender(baseUrl: string, maxSockets = 16) {
  const target = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets });
  const send = async (request: FuzzRequest): Promise<FuzzAnswer> => {
    const body = Buffer.from(request.body, 'utf8');
    const raw: string[] = ['Host', target.host];
    for (const [name, value] of request.headers) raw.push(name, value);
    if (body.length > 0 || request.method !== 'GET')
      raw.push('Content-Length', String(body.length));
    const { hostname, port } = target;
    const { method, path } = request;
    return exchange({ agent, hostname, port, method, path, headers: raw }, body, 30_000);
  };
  return { send, close: () => agent.destroy() };
}

// ---------------------------------------------------------------------------------------
// Checks

export interface Exchange {
  request: FuzzRequest;
  expectation: Expectation;
  answer: FuzzAnswer;
}

/** What is wrong with one answer on its own; undefined when nothing is. */
export function checkAnswer(exchange: Exchange): string | undefined {
  const { expectation, answer } = exchange;
  if (answer.status >= 500) return `answered ${answer.status}`;
  const isProblem = String(answer.headers['content-type'] ?? '').startsWith(
    'application/problem+json',
  );
  if (answer.status >= 400) {
    if (!isProblem) return `error ${answer.status} is not application/problem+json`;
    try {
      const problem = JSON.parse(answer.text) as { status?: unknown; type?: unknown };
      if (problem.status !== answer.status || typeof problem.type !== 'string') {
        return `problem body does not name status ${answer.status}`;
      }
    } catch {
      return 'problem body is not JSON';
    }
  }
  switch (expectation.kind) {
    case 'status':
      return answer.status === expectation.status
        ? undefined
        : `expected ${expectation.status} (${expectation.reason}), got ${answer.status}`;
    case 'get': {
      if (answer.status !== expectation.status) {
        return `GET expected ${expectation.status}, got ${answer.status}`;
      }
      if (
        answer.status === 200 &&
        (JSON.parse(answer.text) as { id?: unknown }).id !== expectation.id
      ) {
        return `GET returned another charge than ${expectation.id}`;
      }
      return undefined;
    }
    case 'charge':
      return [201, 409, 422].includes(answer.status)
        ? undefined
        : `a valid charge request answered ${answer.status}`;
  }
}

export interface ChargeRow {
  id: string;
  client_id: string;
  idempotency_key: string;
  amount: string;
  currency: string;
  customer_id: string;
  description: string | null;
}

/**
 * The checks across answers and against the charges table: per (client, key), every 201
 * carries one charge, made from a body that was sent validly under that key by that client;
 * a body other than the charged one is never answered 201; no charge exists for a key that
 * never had a valid request; no answer hands a client another client's charge.
 */
export function checkCharges(exchanges: Exchange[], rows: ChargeRow[], world: FuzzWorld): string[] {
  const problems: string[] = [];
  const groups = new Map<string, Exchange[]>();
  for (const exchange of exchanges) {
    if (exchange.expectation.kind !== 'charge') continue;
    const id = `${exchange.expectation.clientId}\u0000${exchange.expectation.key}`;
    groups.set(id, [...(groups.get(id) ?? []), exchange]);
  }
  const byId = new Map(rows.map((row) => [row.id, row]));
  const byGroup = new Map(rows.map((row) => [`${row.client_id}\u0000${row.idempotency_key}`, row]));
  const seededIds = new Set(world.seeded.map((charge) => charge.id));

  for (const [group, members] of groups) {
    const [clientId, key] = group.split('\u0000') as [string, string];
    const row = byGroup.get(group);
    const created = members.filter((member) => member.answer.status === 201);
    if (!row) {
      if (created.length > 0)
        problems.push(`${clientId}/${key}: answered 201 but no charge exists`);
      continue;
    }
    const charged = canonicalJson({
      amount: Number(row.amount),
      currency: row.currency.trim(),
      customerId: row.customer_id,
      ...(row.description === null ? {} : { description: row.description }),
    });
    const seededBody = world.seeded.find((charge) => charge.id === row.id)?.body;
    const sentBodies = new Set(
      members.map((member) =>
        member.expectation.kind === 'charge' ? member.expectation.canonical : '',
      ),
    );
    if (seededBody) sentBodies.add(canonicalJson(seededBody));
    if (!sentBodies.has(charged)) {
      problems.push(
        `${clientId}/${key}: charge ${row.id} matches no body sent under this key: ${charged} vs ${[...sentBodies].join(' | ')}`,
      );
    }
    for (const member of created) {
      const answerId = (JSON.parse(member.answer.text) as { id?: unknown }).id;
      if (answerId !== row.id) {
        const owner = byId.get(String(answerId))?.client_id;
        problems.push(
          `${clientId}/${key}: 201 carried charge ${String(answerId)}${owner && owner !== clientId ? ` of ANOTHER client (${owner})` : ''}, the key's charge is ${row.id}`,
        );
      }
      if (member.expectation.kind === 'charge' && member.expectation.canonical !== charged) {
        problems.push(`${clientId}/${key}: a different body was answered 201 instead of 422`);
      }
    }
  }
  for (const row of rows) {
    if (seededIds.has(row.id)) continue;
    if (!groups.has(`${row.client_id}\u0000${row.idempotency_key}`)) {
      problems.push(
        `charge ${row.id} (${row.client_id}/${row.idempotency_key}) was created from invalid input`,
      );
    }
  }
  return problems;
}
