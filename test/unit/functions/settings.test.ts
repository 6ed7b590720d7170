import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  describeSettings,
  EnvVar,
  type FunctionKind,
  loadSettings,
  parseSettings,
  SETTINGS,
} from '../../../functions/commons/settings.ts';

const DATABASE = { DATABASE_URL: 'postgres://payments:hunter2@127.0.0.1:5432/payments' };

/** A complete, valid environment per function kind: what each one needs and nothing more. */
const VALID: Record<FunctionKind, Record<string, string>> = {
  charge: DATABASE,
  'get-charge': DATABASE,
  health: DATABASE,
  relay: { ...DATABASE, QUEUE_URL: 'http://sqs/charges.fifo', DLQ_URL: 'http://sqs/dlq.fifo' },
  consumer: { ...DATABASE, DLQ_URL: 'http://sqs/dlq.fifo' },
  migrate: DATABASE,
  authorizer: DATABASE,
  clients: DATABASE,
  reconciliation: DATABASE,
  housekeeping: DATABASE,
};

/** A variable each kind requires, and a tunable it reads that has a default. */
const REQUIRED_AND_TUNABLE: Record<FunctionKind, [string, string]> = {
  charge: ['DATABASE_URL', 'IDEMPOTENCY_TTL_SECONDS'],
  'get-charge': ['DATABASE_URL', 'DB_POOL_MAX'],
  health: ['DATABASE_URL', 'DB_POOL_MAX'],
  relay: ['QUEUE_URL', 'RELAY_MAX_EVENTS_PER_SECOND'],
  consumer: ['DLQ_URL', 'DB_POOL_MAX'],
  migrate: ['DATABASE_URL', 'DATABASE_TLS'],
  authorizer: ['DATABASE_URL', 'DB_POOL_MAX'],
  clients: ['DATABASE_URL', 'DB_POOL_MAX'],
  reconciliation: ['DATABASE_URL', 'RECONCILE_AFTER_SECONDS'],
  housekeeping: ['DATABASE_URL', 'DB_POOL_MAX'],
};

/** The error `parseSettings` throws, or a failure saying it did not throw. */
function refusal(kind: FunctionKind, env: Record<string, string>): ConfigurationError {
  try {
    parseSettings(kind, env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error(`${kind} accepted ${JSON.stringify(env)}`);
}

describe('the configuration contract', () => {
  it('covers every function kind with a valid environment', () => {
    expect(Object.keys(VALID).sort()).toEqual(Object.keys(SETTINGS).sort());
    for (const kind of Object.keys(VALID) as FunctionKind[]) {
      expect(() => parseSettings(kind, VALID[kind]), kind).not.toThrow();
    }
  });

  for (const kind of Object.keys(REQUIRED_AND_TUNABLE) as FunctionKind[]) {
    const [required, tunable] = REQUIRED_AND_TUNABLE[kind];

    it(`${kind}: a missing ${required} is refused, naming it`, () => {
      const { [required]: _, ...env } = VALID[kind];
      const error = refusal(kind, env);
      expect(error.message).toContain(required);
    });

    it(`${kind}: a misspelt ${tunable} is refused, naming both spellings`, () => {
      const misspelt = `${tunable.slice(0, -2)}${tunable.at(-1)}${tunable.at(-2)}`;
      const error = refusal(kind, { ...VALID[kind], [misspelt]: '5' });
      expect(error.variables).toEqual([misspelt]);
      expect(error.message).toContain(`did you mean ${tunable}?`);
    });
  }

  it('applies the defaults and types the values', () => {
    const charge = parseSettings('charge', DATABASE);
    expect(charge.DB_POOL_MAX).toBe(2);
    expect(charge.IDEMPOTENCY_TTL_SECONDS).toBe(86_400);
    expect(charge.IDEMPOTENCY_CACHE).toBe('none');
    expect(charge.IDEMPOTENCY_IN_PROGRESS_SECONDS).toBeUndefined();
    expect(parseSettings('health', DATABASE).DB_POOL_MAX).toBe(1);
    expect(parseSettings('charge', { ...DATABASE, DB_POOL_MAX: ' ' }).DB_POOL_MAX).toBe(2);
  });

  it('refuses malformed values, naming each variable and the value', () => {
    const error = refusal('charge', { ...DATABASE, DB_POOL_MAX: '0', REDIS_TIMEOUT_MS: 'fast' });
    expect(error.variables.sort()).toEqual(['DB_POOL_MAX', 'REDIS_TIMEOUT_MS']);
    expect(error.message).toContain('DB_POOL_MAX must be a positive integer (got "0")');
  });

  it('switches features by explicit settings, not by a variable being present', () => {
    const redis = 'redis://127.0.0.1:6379';
    expect(refusal('charge', { ...DATABASE, REDIS_URL: redis }).message).toContain(
      'REDIS_URL is set but IDEMPOTENCY_CACHE is not redis',
    );
    expect(refusal('charge', { ...DATABASE, IDEMPOTENCY_CACHE: 'redis' }).message).toContain(
      'REDIS_URL is required when IDEMPOTENCY_CACHE=redis',
    );
    const cached = parseSettings('charge', {
      ...DATABASE,
      IDEMPOTENCY_CACHE: 'redis',
      REDIS_URL: redis,
    });
    expect(cached.IDEMPOTENCY_CACHE).toBe('redis');
    expect(refusal('relay', { ...VALID.relay, EVENT_BUS_NAME: 'bus' }).variables).toEqual([
      'EVENT_BUS_NAME',
    ]);
    expect(
      parseSettings('relay', { ...VALID.relay, PUBLISH_TO_EVENT_BUS: 'true', EVENT_BUS_NAME: 'b' })
        .PUBLISH_TO_EVENT_BUS,
    ).toBe('true');
  });

  it('needs DATABASE_URL or all three of the AWS database variables', () => {
    expect(refusal('get-charge', { DATABASE_HOST: 'proxy' }).variables.sort()).toEqual([
      'DATABASE_NAME',
      'DATABASE_SECRET_ARN',
    ]);
    const aws = { DATABASE_SECRET_ARN: 'arn:secret', DATABASE_HOST: 'proxy', DATABASE_NAME: 'p' };
    expect(parseSettings('get-charge', aws).DATABASE_HOST).toBe('proxy');
  });

  it('logs the active configuration once, with passwords masked, and never in an error', () => {
    const lines: Record<string, unknown>[] = [];
    const env = {
      ...DATABASE,
      IDEMPOTENCY_CACHE: 'redis',
      REDIS_URL: 'redis://:s3cret@cache:6379',
    };
    loadSettings('charge', { info: (_message, extra) => lines.push(extra) }, env);
    expect(lines).toHaveLength(1);
    const logged = JSON.stringify(lines);
    expect(logged).toContain('"IDEMPOTENCY_TTL_SECONDS":86400');
    expect(logged).toContain('cache:6379');
    expect(logged).not.toContain('hunter2');
    expect(logged).not.toContain('s3cret');
    const error = refusal('charge', {
      DATABASE_URL: 'postgres://u:hunter2@h/db',
      REDIS_URL: 'redis://:s3cret@c',
    });
    expect(error.message).not.toContain('s3cret');
    expect(describeSettings({ DATABASE_URL: 'not a url' })).toEqual({ DATABASE_URL: '***' });
  });

  it('names every variable once, for the code that sets them', () => {
    expect(EnvVar.QUEUE_URL).toBe('QUEUE_URL');
    expect(EnvVar.IDEMPOTENCY_CACHE).toBe('IDEMPOTENCY_CACHE');
  });
});
