/**
 * `npm start`: the local stack (scripts/local/stack) in the foreground, with its output on the
 * terminal. Ctrl-C stops everything and deletes the embedded server's data directory.
 */
import { DEFAULT_LOCAL_API_KEYS, parseApiKeys } from './api-keys.ts';
import { type LocalStack, startLocalStack, stopOnSignals } from './stack/stack.ts';

const keepData = process.argv.includes('--keep-data');
const apiKeysSpec = process.env.LOCAL_API_KEYS || DEFAULT_LOCAL_API_KEYS;

let stack: LocalStack | undefined;
const stop = async () => {
  await stack?.stop();
  if (stack?.database.dataDir && keepData) console.log(`data kept in ${stack.database.dataDir}`);
};
stopOnSignals(stop);

try {
  const apiKeys = parseApiKeys(apiKeysSpec);
  stack = await startLocalStack({
    ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
    keepData,
    port: Number(process.env.PORT ?? 3000),
    metricsPort: Number(process.env.METRICS_VIEW_PORT ?? 0),
    apiKeys: apiKeysSpec,
    queue: { maxReceiveCount: Number(process.env.MAX_RECEIVE_COUNT ?? 3) },
    onLine: (line, service) => console.log(`[${service}] ${line}`),
    log: (message) => console.log(message),
  });
  const api = stack.apiUrl;
  const [devKey] = apiKeys.keys();
  console.log(`SQS endpoint ${stack.sqsEndpoint}: ${stack.queues.queueUrl} (DLQ ${stack.queues.deadLetterQueueUrl})

payments API listening on ${api}
metrics: ${api}/metrics   dashboard: ${api}/dashboard   (also ${stack.metricsUrl})
DATABASE_URL=${stack.databaseUrl}
API keys: ${[...apiKeys].map(([key, client]) => `${key} (client ${client})`).join(', ')}

  curl -i -X POST ${api}/charge \\
    -H 'x-api-key: ${devKey}' -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: $(uuidgen || cat /proc/sys/kernel/random/uuid)" \\
    -d '{"amount":1000,"currency":"EUR","customerId":"cus_1"}'

Ctrl-C stops everything.`);
} catch (error) {
  console.error(`start failed: ${error instanceof Error ? error.message : String(error)}`);
  await stop();
  process.exit(1);
}
