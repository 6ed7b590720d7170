/**
 * fast-check arbitraries of whole requests for the HTTP contract fuzz: method, path, raw header
 * lists with duplicates and odd casing, and body bytes from valid charges to hostile JSON.
 */
import fc from 'fast-check';
import { CHARGE_CURRENCIES, type ChargeBody, type FuzzRequest, type FuzzWorld } from './oracle.ts';

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
