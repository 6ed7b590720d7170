import { EnvVar } from '../../../functions/commons/settings.ts';
import { LOCAL_AWS_ENV } from '../sqs.ts';

/** What every local process is wired to. */
export interface StackWiring {
  databaseUrl: string;
  /** The SQS endpoint (fauxqs or LocalStack). */
  sqsEndpoint?: string;
  queueUrl?: string;
  deadLetterQueueUrl?: string;
  /** The supervisor's metrics view, proxied by the API at /metrics and /dashboard. */
  metricsViewUrl?: string;
  /** `apiKey:clientId,…` as LOCAL_API_KEYS. */
  apiKeys: string;
  /** API port; 0 picks a free one. */
  port: number;
}

export interface EnvironmentOptions {
  /** Inherited variables to leave out (e.g. FAILPOINTS, or what would change a measurement). */
  drop?: readonly string[];
  /** Handlers log errors only (tests, proof, bench). */
  quiet?: boolean;
  /** On top of everything else. */
  extra?: Record<string, string>;
}

/** Inherited variables that switch a tier on or change the rates a benchmark measures. */
export const TUNING_VARIABLES = [
  EnvVar.IDEMPOTENCY_CACHE,
  EnvVar.REDIS_URL,
  EnvVar.PUBLISH_TO_EVENT_BUS,
  EnvVar.EVENT_BUS_NAME,
  'FAILPOINTS',
  EnvVar.DB_POOL_MAX,
  EnvVar.RELAY_MAX_EVENTS_PER_SECOND,
  'LOCAL_RELAY_INTERVAL_MS',
  'LOCAL_CONSUMER_POLLERS',
  'NODE_OPTIONS',
] as const;

/**
 * The environment of the API, relay and consumer processes: this process's own (so a user's
 * settings reach the handlers), local AWS credentials, and the stack's wiring, which always
 * wins over anything inherited.
 */
export function processEnvironment(
  wiring: StackWiring,
  options: EnvironmentOptions = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...LOCAL_AWS_ENV, ...process.env };
  for (const name of options.drop ?? []) delete env[name];
  const set = (name: string, value: string | undefined) => {
    if (value !== undefined) env[name] = value;
  };
  set(EnvVar.DATABASE_URL, wiring.databaseUrl);
  set('AWS_ENDPOINT_URL', wiring.sqsEndpoint);
  set(EnvVar.QUEUE_URL, wiring.queueUrl);
  set(EnvVar.DLQ_URL, wiring.deadLetterQueueUrl);
  set('METRICS_VIEW_URL', wiring.metricsViewUrl);
  set('LOCAL_API_KEYS', wiring.apiKeys);
  set('PORT', String(wiring.port));
  if (options.quiet) env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  return { ...env, ...options.extra };
}
