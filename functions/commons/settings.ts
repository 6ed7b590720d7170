/**
 * The configuration contract: every environment variable a payments function reads, defined
 * once. The CDK constructs set them by these names (lib/ imports {@link EnvVar}), each function
 * validates its own set at init with a zod schema and fails fast naming the variable, and
 * features are switched on by explicit settings (IDEMPOTENCY_CACHE=redis,
 * PUBLISH_TO_EVENT_BUS=true), never by a variable merely being present. A variable that is not
 * in the contract but is one or two typos away from one the function reads (and that one is
 * unset) is refused too: a misspelt name must not silently fall back to a default.
 *
 * No AWS or Powertools import here: the local stack, the tests and lib/ use it as well.
 */
import * as z from 'zod/mini';
import { RELAY_SETTINGS } from '../relay/relay-settings.ts';

/** Why a function refuses to start: one line per offending variable, each naming it. */
export class ConfigurationError extends Error {
  readonly variables: string[];
  constructor(problems: { variable: string; message: string }[]) {
    super(
      `invalid configuration: ${problems.map(({ variable, message }) => `${variable} ${message}`).join('; ')}`,
    );
    this.name = 'ConfigurationError';
    this.variables = problems.map((problem) => problem.variable);
  }
}

const text = z.string().check(z.trim(), z.minLength(1, 'must not be empty'));
const positive = (message = 'must be a positive number') =>
  z
    .pipe(
      z.string(),
      z.transform((raw) => Number(raw)),
    )
    .check(z.refine((value) => Number.isFinite(value) && value > 0, message));
const positiveInteger = () =>
  z
    .pipe(
      z.string(),
      z.transform((raw) => Number(raw)),
    )
    .check(
      z.refine((value) => Number.isSafeInteger(value) && value > 0, 'must be a positive integer'),
    );
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });
const flag = z.enum(['true', 'false'], { error: 'must be true or false' });
/** `value` stands in for an unset variable and is parsed like one that is set. */
const withDefault = <S extends z.ZodMiniType<unknown, string>>(schema: S, value: string) =>
  z.prefault(schema, value as z.input<S>);

/** DB_POOL_MAX when a function does not say otherwise: RDS Proxy multiplexes small pools. */
export const DEFAULT_POOL_MAX = 2;

/** Where the database is and how connections to it behave; every function reads these. */
const database = {
  /** A full connection string (local runs, tests, LocalStack); takes precedence. */
  DATABASE_URL: z.optional(text),
  /** In AWS: the secret of this function's database role, the host and the database name. */
  DATABASE_SECRET_ARN: z.optional(text),
  DATABASE_HOST: z.optional(text),
  DATABASE_NAME: z.optional(text),
  /** `verify` (always in AWS) or `off` (a bundle against a local server without a certificate). */
  DATABASE_TLS: withDefault(oneOf(['verify', 'off']), 'verify'),
  /** Limits on one statement, server and client side; unset: none. */
  DB_STATEMENT_TIMEOUT_MS: z.optional(positiveInteger()),
  DB_QUERY_TIMEOUT_MS: z.optional(positiveInteger()),
};
const pool = (max: number) => ({ DB_POOL_MAX: withDefault(positiveInteger(), String(max)) });

type Problem = { variable: string; message: string };
/** A rule across variables, over the set (non-blank) ones. */
type Rule = (input: Readonly<Record<string, string>>) => Problem[];

/** DATABASE_URL, or all three of DATABASE_SECRET_ARN, DATABASE_HOST and DATABASE_NAME. */
const databaseRule: Rule = (input) =>
  input.DATABASE_URL !== undefined
    ? []
    : ['DATABASE_SECRET_ARN', 'DATABASE_HOST', 'DATABASE_NAME']
        .filter((variable) => input[variable] === undefined)
        .map((variable) => ({ variable, message: 'is required (or set DATABASE_URL)' }));

/** A switch and the variable it needs: required when on, refused when off (a half-done setup). */
const switchRule =
  (switchName: string, on: string, needs: string): Rule =>
  (input) => {
    const enabled = input[switchName] === on;
    if (enabled && input[needs] === undefined) {
      return [{ variable: needs, message: `is required when ${switchName}=${on}` }];
    }
    if (!enabled && input[needs] !== undefined) {
      return [
        {
          variable: needs,
          message: `is set but ${switchName} is not ${on}: set ${switchName}=${on} to use it, or unset it`,
        },
      ];
    }
    return [];
  };

/** Each function kind's settings. */
export const SETTINGS = {
  charge: {
    schema: z.object({
      ...database,
      ...pool(DEFAULT_POOL_MAX),
      /** How long a key's record (and so its replay) is kept. */
      IDEMPOTENCY_TTL_SECONDS: withDefault(positiveInteger(), '86400'),
      /** How long a claim is exclusive before a takeover; unset: the Lambda's remaining time. */
      IDEMPOTENCY_IN_PROGRESS_SECONDS: z.optional(positive()),
      /** The Retry-After of a 409. */
      IN_FLIGHT_RETRY_AFTER_SECONDS: withDefault(positiveInteger(), '1'),
      /** `redis`: the Redis hot tier in front of PostgreSQL (needs REDIS_URL). */
      IDEMPOTENCY_CACHE: withDefault(oneOf(['none', 'redis']), 'none'),
      REDIS_URL: z.optional(text),
      /** Per-command Redis timeout before falling back to PostgreSQL. */
      REDIS_TIMEOUT_MS: withDefault(positive(), '5'),
    }),
    rules: [databaseRule, switchRule('IDEMPOTENCY_CACHE', 'redis', 'REDIS_URL')],
  },
  'get-charge': {
    schema: z.object({ ...database, ...pool(DEFAULT_POOL_MAX) }),
    rules: [databaseRule],
  },
  health: { schema: z.object({ ...database, ...pool(1) }), rules: [databaseRule] },
  relay: {
    schema: z.object({
      ...database,
      // Lanes send side by side; the bus loop, lease renewals and health reports share the pool.
      ...pool(RELAY_SETTINGS.sendLanes + 2),
      /** The FIFO queue charge events go to, and its dead-letter queue (depth reported). */
      QUEUE_URL: text,
      DLQ_URL: text,
      /** The publish rate limit, events per second, across every relay (one holds the lease). */
      RELAY_MAX_EVENTS_PER_SECOND: withDefault(positive(), '500'),
      /** How long the relay lease lasts without a renewal (the takeover delay after a crash). */
      RELAY_LEASE_TTL_MS: withDefault(positiveInteger(), String(RELAY_SETTINGS.leaseTtlMs)),
      /** Fault harnesses name the lease holder to hand the lease to one relay; unset in AWS. */
      RELAY_LEASE_HOLDER: z.optional(text),
      /** `true`: also put every event on the EventBridge bus EVENT_BUS_NAME. */
      PUBLISH_TO_EVENT_BUS: withDefault(flag, 'false'),
      EVENT_BUS_NAME: z.optional(text),
    }),
    rules: [databaseRule, switchRule('PUBLISH_TO_EVENT_BUS', 'true', 'EVENT_BUS_NAME')],
  },
  consumer: {
    schema: z.object({
      ...database,
      ...pool(DEFAULT_POOL_MAX),
      /** Where the consumer moves a poison message at once. */
      DLQ_URL: text,
    }),
    rules: [databaseRule],
  },
  migrate: {
    schema: z.object({
      ...database,
      /** A JSON object of database role name to the ARN of the secret holding its password. */
      DATABASE_ROLE_SECRETS: z.optional(
        text.check(z.refine(isObjectOfStrings, 'must be a JSON object of role name to secret ARN')),
      ),
    }),
    rules: [databaseRule],
  },
  housekeeping: {
    schema: z.object({
      ...database,
      ...pool(1),
      /** Retention overrides, in seconds; unset: functions/housekeeping/retention.ts. */
      INBOX_RETENTION_SECONDS: z.optional(positiveInteger()),
      OUTBOX_RETENTION_SECONDS: z.optional(positiveInteger()),
    }),
    rules: [databaseRule],
  },
  authorizer: {
    schema: z.object({ ...database, ...pool(DEFAULT_POOL_MAX) }),
    rules: [databaseRule],
  },
  clients: { schema: z.object({ ...database, ...pool(1) }), rules: [databaseRule] },
  reconciliation: {
    schema: z.object({
      ...database,
      ...pool(1),
      /** N: a healthy relay and consumer apply a charge within seconds; five minutes is an anomaly. */
      RECONCILE_AFTER_SECONDS: withDefault(positiveInteger(), '300'),
      /** How far back to look for unapplied charges. */
      RECONCILE_LOOKBACK_HOURS: withDefault(positive(), '24'),
      /** Charges re-enqueued per run at most. */
      RECONCILE_BATCH_LIMIT: withDefault(positiveInteger(), '1000'),
    }),
    rules: [databaseRule],
  },
} satisfies Record<string, { schema: z.ZodMiniObject; rules: Rule[] }>;

/** A function kind: the folder under functions/ whose handler reads these settings. */
export type FunctionKind = keyof typeof SETTINGS;
/** The validated settings of one function kind. */
export type SettingsOf<K extends FunctionKind> = z.infer<(typeof SETTINGS)[K]['schema']>;

/** What every function knows about its database (see functions/store/database-connection.ts). */
export type DatabaseSettings = Pick<
  SettingsOf<'migrate'>,
  | 'DATABASE_URL'
  | 'DATABASE_SECRET_ARN'
  | 'DATABASE_HOST'
  | 'DATABASE_NAME'
  | 'DATABASE_TLS'
  | 'DB_STATEMENT_TIMEOUT_MS'
  | 'DB_QUERY_TIMEOUT_MS'
>;

/** Every variable name in the contract. */
export type EnvVarName = {
  [K in FunctionKind]: keyof z.input<(typeof SETTINGS)[K]['schema']>;
}[FunctionKind] &
  string;

const ALL_NAMES = [
  ...new Set(Object.values(SETTINGS).flatMap(({ schema }) => Object.keys(schema.shape))),
].sort() as EnvVarName[];

/**
 * The variable names, for code that sets them: `EnvVar.QUEUE_URL === 'QUEUE_URL'`, but a
 * misspelt property is a compile error where a misspelt string literal would not be.
 */
export const EnvVar = Object.freeze(Object.fromEntries(ALL_NAMES.map((name) => [name, name]))) as {
  readonly [N in EnvVarName]: N;
};

function isObjectOfStrings(raw: string): boolean {
  try {
    const parsed: unknown = JSON.parse(raw);
    return (
      typeof parsed === 'object' &&
      parsed !== null &&
      !Array.isArray(parsed) &&
      Object.values(parsed).every((value) => typeof value === 'string')
    );
  } catch {
    return false;
  }
}

/** Variables whose values are never logged as they are (a URL's password is masked). */
const SECRET_VALUES: ReadonlySet<string> = new Set(['DATABASE_URL', 'REDIS_URL']);

/**
 * Validates `env` against the settings of `kind`. Blank values count as unset. Throws a
 * {@link ConfigurationError} naming every missing, malformed, contradictory or misspelt
 * variable; returns the typed settings, defaults applied.
 */
export function parseSettings<K extends FunctionKind>(
  kind: K,
  env: Readonly<Record<string, string | undefined>>,
): SettingsOf<K> {
  const { schema, rules } = SETTINGS[kind];
  const names = Object.keys(schema.shape);
  const input: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') input[name] = value;
  }
  const problems = [...misspellings(names, input, env), ...rules.flatMap((rule) => rule(input))];
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    for (const found of parsed.error.issues) {
      const variable = String(found.path[0]);
      const value = input[variable];
      problems.push({
        variable,
        message:
          value === undefined
            ? 'is required but not set'
            : `${found.message} (got ${SECRET_VALUES.has(variable) ? 'a value' : `"${value}"`})`,
      });
    }
  }
  if (problems.length > 0) throw new ConfigurationError(problems);
  return parsed.data as SettingsOf<K>;
}

/** The settings as they may be logged: secrets' passwords masked, unset ones left out. */
export function describeSettings(settings: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(settings)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [
        name,
        SECRET_VALUES.has(name) ? maskPassword(String(value)) : value,
      ]),
  );
}

function maskPassword(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '***';
  }
}

/**
 * Variables in `env` that look like a typo of one `names` holds and that is unset (so the
 * typo would silently lose the setting). Two edits at most, on names of six or more letters.
 */
function misspellings(
  names: readonly string[],
  input: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
): Problem[] {
  const known = new Set<string>(ALL_NAMES);
  const problems: Problem[] = [];
  for (const candidate of Object.keys(env)) {
    if (known.has(candidate) || candidate.length < 6) continue;
    const meant = names.find(
      (name) => input[name] === undefined && editDistance(candidate.toUpperCase(), name) <= 2,
    );
    if (meant) {
      problems.push({
        variable: candidate,
        message: `is not a setting of this function: did you mean ${meant}?`,
      });
    }
  }
  return problems;
}

/**
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions). Hand-written:
 * twenty lines, run once at init over a few dozen names, not worth a dependency in every bundle.
 */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i] as number[];
      const above = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * The settings of `kind` from the process environment, validated, and logged once (secrets
 * masked) through `log`: a function's init calls this first, before it connects to anything,
 * so a bad setting fails the init with a {@link ConfigurationError} naming the variable.
 */
export function loadSettings<K extends FunctionKind>(
  kind: K,
  log: { info(message: string, extra: Record<string, unknown>): void },
  env: Readonly<Record<string, string | undefined>> = process.env,
): SettingsOf<K> {
  const settings = parseSettings(kind, env);
  log.info('configuration', { function: kind, settings: describeSettings(settings) });
  return settings;
}
