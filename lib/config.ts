import { Duration } from 'aws-cdk-lib';
import type { Node } from 'constructs';

/** The Lambda entries of the service, one folder each under `functions/`. */
export const FUNCTION_NAMES = [
  'charge',
  'get-charge',
  'health',
  'relay',
  'consumer',
  'migrate',
  'authorizer',
  'clients',
  'reconciliation',
  'housekeeping',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * Which functions are bundled with esbuild. `none` swaps every bundle for an inline stub: the
 * template is the same apart from the code asset, and synth takes a second instead of one
 * esbuild run per function (tests, and synth before every entry file exists).
 */
export type BundleSelection = 'all' | 'none' | readonly FunctionName[];

/**
 * What the deployment is for (context `profile`); docs/DEPLOY.md has the cost of each.
 * - `production`: Aurora behind RDS Proxy, interface endpoints in two AZs.
 * - `sandbox`: idles cheaply: no RDS Proxy (functions connect to the writer directly), the
 *   interface endpoints in one AZ, no deletion protection. Aurora stays at its 0.5 ACU
 *   minimum: the relay and housekeeping connect every minute, so it could never auto-pause.
 * - `localstack`: LocalStack Community: no VPC, Aurora, proxy or rotation (Pro-only); the
 *   functions reach an external PostgreSQL at `externalDatabaseUrl`.
 */
export const PROFILES = ['production', 'sandbox', 'localstack'] as const;
export type Profile = (typeof PROFILES)[number];

/** Everything the app can be tuned with, read and validated once from CDK context. */
export interface PaymentsConfig {
  profile: Profile;
  /** localstack profile only: the PostgreSQL the functions use (e.g. on host.docker.internal). */
  externalDatabaseUrl: string | undefined;
  /** Aurora deletion protection, and RETAIN instead of SNAPSHOT on stack deletion. */
  deletionProtection: boolean;
  /** Receives of one message before SQS moves it to the DLQ. */
  maxReceiveCount: number;
  /** The optional ElastiCache Serverless (Valkey) tier in front of Postgres. */
  hotTier: boolean;
  bundle: BundleSelection;
  /** Subscribed to the alarm topic when set. */
  alarmEmail: string | undefined;
  /** retry_attempt_total{attempt=3} per 5 minutes above which on-call is paged. */
  attemptThreeAlarmThreshold: number;
  idempotencyTtl: Duration;
  relayMaxEventsPerSecond: number;
  databaseMinCapacity: number;
  databaseMaxCapacity: number;
  /** Usage-plan throttling per API key: steady requests per second and burst. */
  apiRateLimit: number;
  apiBurstLimit: number;
  /** The consumer's timeout; the queue's visibility timeout is six times this. */
  consumerTimeout: Duration;
}

export const DEFAULT_CONFIG: PaymentsConfig = {
  profile: 'production',
  externalDatabaseUrl: undefined,
  deletionProtection: true,
  maxReceiveCount: 3,
  hotTier: false,
  bundle: 'all',
  alarmEmail: undefined,
  attemptThreeAlarmThreshold: 50,
  idempotencyTtl: Duration.hours(24),
  relayMaxEventsPerSecond: 500,
  databaseMinCapacity: 0.5,
  databaseMaxCapacity: 4,
  apiRateLimit: 100,
  apiBurstLimit: 200,
  consumerTimeout: Duration.seconds(30),
};

/**
 * Reads the configuration from CDK context (`cdk.json` or `-c key=value`). Values given on the
 * command line arrive as strings, so booleans and numbers are parsed; an invalid value fails
 * synth naming the key instead of deploying something unintended.
 */
export function readConfig(node: Node): PaymentsConfig {
  const context = (key: string): unknown => node.tryGetContext(key);
  const d = DEFAULT_CONFIG;
  const profile = profileContext(context('profile'));
  const externalDatabaseUrl = optionalString('externalDatabaseUrl', context);
  if (profile === 'localstack' && !externalDatabaseUrl) {
    throw new Error(
      'context externalDatabaseUrl is required with profile=localstack (LocalStack Community has no Aurora), e.g. postgres://postgres:postgres@host.docker.internal:5432/payments',
    );
  }
  if (profile !== 'localstack' && externalDatabaseUrl) {
    throw new Error('context externalDatabaseUrl is only for profile=localstack');
  }
  // The sandbox is disposable: no deletion protection unless told otherwise.
  const sandbox = profile === 'sandbox';
  return {
    profile,
    externalDatabaseUrl,
    deletionProtection: booleanContext(
      'deletionProtection',
      context,
      sandbox ? false : d.deletionProtection,
    ),
    maxReceiveCount: integerContext('maxReceiveCount', context, d.maxReceiveCount, 1, 1000),
    hotTier: booleanContext('hotTier', context, d.hotTier),
    bundle: bundleContext(context('bundle')),
    alarmEmail: optionalString('alarmEmail', context),
    attemptThreeAlarmThreshold: integerContext(
      'attemptThreeAlarmThreshold',
      context,
      d.attemptThreeAlarmThreshold,
      1,
      1_000_000,
    ),
    idempotencyTtl: Duration.seconds(
      integerContext('idempotencyTtlSeconds', context, d.idempotencyTtl.toSeconds(), 60, 604_800),
    ),
    relayMaxEventsPerSecond: integerContext(
      'relayMaxEventsPerSecond',
      context,
      d.relayMaxEventsPerSecond,
      1,
      100_000,
    ),
    databaseMinCapacity: numberContext('databaseMinCapacity', context, d.databaseMinCapacity),
    databaseMaxCapacity: numberContext('databaseMaxCapacity', context, d.databaseMaxCapacity),
    apiRateLimit: integerContext('apiRateLimit', context, d.apiRateLimit, 1, 10_000),
    apiBurstLimit: integerContext('apiBurstLimit', context, d.apiBurstLimit, 1, 5_000),
    consumerTimeout: Duration.seconds(
      integerContext('consumerTimeoutSeconds', context, d.consumerTimeout.toSeconds(), 5, 900),
    ),
  };
}

/** Whether `name` is bundled for real under `selection`. */
export function isBundled(selection: BundleSelection, name: FunctionName): boolean {
  if (selection === 'all') return true;
  if (selection === 'none') return false;
  return selection.includes(name);
}

type ContextReader = (key: string) => unknown;

function booleanContext(key: string, context: ContextReader, fallback: boolean): boolean {
  const value = context(key);
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
}

function numberContext(key: string, context: ContextReader, fallback: number): number {
  const value = context(key);
  if (value === undefined) return fallback;
  const parsed = typeof value === 'number' ? value : Number(value);
  if (typeof value === 'boolean' || !Number.isFinite(parsed) || parsed < 0) {
    throw new Error(`context ${key} must be a non-negative number, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function integerContext(
  key: string,
  context: ContextReader,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = numberContext(key, context, fallback);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`context ${key} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

function optionalString(key: string, context: ContextReader): string | undefined {
  const value = context(key);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new Error(`context ${key} must be a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function profileContext(value: unknown): Profile {
  if (value === undefined) return 'production';
  if (!PROFILES.includes(value as Profile)) {
    throw new Error(
      `context profile must be one of ${PROFILES.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as Profile;
}

function bundleContext(value: unknown): BundleSelection {
  if (value === undefined || value === 'all') return 'all';
  if (value === 'none') return 'none';
  const names = typeof value === 'string' ? value.split(',').map((name) => name.trim()) : value;
  if (
    !Array.isArray(names) ||
    !names.every((name) => FUNCTION_NAMES.includes(name as FunctionName))
  ) {
    throw new Error(
      `context bundle must be all, none or a comma-separated list of ${FUNCTION_NAMES.join(', ')}`,
    );
  }
  return names as FunctionName[];
}
