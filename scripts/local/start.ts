import { migrateToLatest } from '../../functions/migrate/run-migrations.ts';
import { DEFAULT_LOCAL_API_KEYS, parseApiKeys } from './api-keys.ts';
import { type ChildService, startChild } from './child-process.ts';
import {
  type RunningPostgres,
  startEmbeddedPostgres,
  withAdminClient,
} from './embedded-postgres.ts';
import { MetricsView, type RunningMetricsView, startMetricsView } from './metrics-view.ts';
import {
  createChargeEventQueues,
  LOCAL_AWS_ENV,
  type SqsEndpoint,
  sqsClientFor,
  startSqsEndpoint,
} from './sqs.ts';

const keepData = process.argv.includes('--keep-data');
const port = Number(process.env.PORT ?? 3000);
const apiKeysSpec = process.env.LOCAL_API_KEYS || DEFAULT_LOCAL_API_KEYS;

let embedded: RunningPostgres | undefined;
let sqsEndpoint: SqsEndpoint | undefined;
let metricsServer: RunningMetricsView | undefined;
// Every process's EMF lines, served as /metrics and /dashboard (through the API's port too).
const metricsView = new MetricsView();
const services = new Map<string, ChildService>();
let stopping = false;

async function shutdown(exitCode: number): Promise<never> {
  stopping = true;
  await Promise.all([...services.values()].map((service) => service.stop()));
  await metricsServer?.close();
  await sqsEndpoint?.stop();
  await embedded?.stop();
  if (embedded && keepData) console.log(`data kept in ${embedded.dataDir}`);
  process.exit(exitCode);
}
// embedded-postgres installs exit hooks that stop the server and exit 130 on a signal,
// racing our own ordered shutdown (children first, then the server, then its directory).
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

function forward(line: string, service: string): void {
  // EMF documents are metrics, not logs: they go to the metrics view.
  metricsView.observeLine(line);
  if (line.includes('"_aws"')) return;
  console.log(`[${service}] ${line}`);
}

async function databaseUrl(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  console.log('starting embedded PostgreSQL…');
  embedded = await startEmbeddedPostgres({ keepData });
  console.log(`PostgreSQL data directory: ${embedded.dataDir}${keepData ? ' (kept on exit)' : ''}`);
  await withAdminClient(embedded.adminUrl, (admin) => admin.query('CREATE DATABASE payments'));
  return embedded.urlFor('payments');
}

function runService(name: string, script: string, env: NodeJS.ProcessEnv): ChildService {
  const service = startChild(script, { name, env, onLine: forward });
  services.set(name, service);
  service.exited.then((code) => {
    if (stopping) return;
    metricsView.recordRestart(name);
    console.error(
      `[${name}] exited (${code}); restarting, as Lambda would start a new environment`,
    );
    setTimeout(() => runService(name, script, env), 250);
  });
  return service;
}

try {
  const apiKeys = parseApiKeys(apiKeysSpec);
  const url = await databaseUrl();
  const applied = await migrateToLatest(url);
  console.log(
    applied.length ? `migrations applied: ${applied.join(', ')}` : 'schema is up to date',
  );

  sqsEndpoint = await startSqsEndpoint();
  const queues = await createChargeEventQueues(sqsClientFor(sqsEndpoint.endpoint), {
    name: 'payments-charge-events',
    maxReceiveCount: Number(process.env.MAX_RECEIVE_COUNT ?? 3),
    visibilityTimeoutSeconds: 30,
  });
  console.log(
    `SQS endpoint ${sqsEndpoint.endpoint}: ${queues.queueUrl} (DLQ ${queues.deadLetterQueueUrl})`,
  );

  metricsServer = await startMetricsView({
    port: Number(process.env.METRICS_VIEW_PORT ?? 0),
    view: metricsView,
  });
  const env = {
    ...LOCAL_AWS_ENV,
    ...process.env,
    AWS_ENDPOINT_URL: sqsEndpoint.endpoint,
    DATABASE_URL: url,
    PORT: String(port),
    LOCAL_API_KEYS: apiKeysSpec,
    QUEUE_URL: queues.queueUrl,
    DLQ_URL: queues.deadLetterQueueUrl,
    METRICS_VIEW_URL: metricsServer.url,
  };
  const [api] = await Promise.all([
    runService('api', 'scripts/local/api-server.ts', env).ready,
    runService('relay', 'scripts/local/relay-process.ts', env).ready,
    runService('consumer', 'scripts/local/consumer-process.ts', env).ready,
  ]);
  const [devKey] = apiKeys.keys();
  console.log(`
payments API listening on ${api.listening}
metrics: ${api.listening}/metrics   dashboard: ${api.listening}/dashboard   (also ${metricsServer.url})
DATABASE_URL=${url}
API keys: ${[...apiKeys].map(([key, client]) => `${key} (client ${client})`).join(', ')}

  curl -i -X POST ${api.listening}/charge \\
    -H 'x-api-key: ${devKey}' -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: $(uuidgen || cat /proc/sys/kernel/random/uuid)" \\
    -d '{"amount":1000,"currency":"EUR","customerId":"cus_1"}'

Ctrl-C stops everything.`);
} catch (error) {
  console.error(`start failed: ${error instanceof Error ? error.message : String(error)}`);
  await shutdown(1);
}
