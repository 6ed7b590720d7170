/**
 * The local ledger consumer process: the consumer Lambda fed by an emulated SQS event source
 * mapping. Needs DATABASE_URL, QUEUE_URL and an SQS endpoint (AWS_ENDPOINT_URL).
 * Prints `{"ready": true}` once polling.
 */
import { createSqsClient } from '../../functions/commons/aws-clients.ts';
import { initLocalLambdaRuntime } from './lambda-runtime.ts';
import { startSqsEventSource } from './sqs-event-source.ts';

const pollers = Number(process.env.LOCAL_CONSUMER_POLLERS ?? 4);
// Where the emulated event source mapping polls; the consumer function itself does not read it.
const queueUrl = process.env.QUEUE_URL;
if (!queueUrl) throw new Error('environment variable QUEUE_URL is required but not set');
await initLocalLambdaRuntime();
// One connection per concurrent batch, as each Lambda environment would have its own.
process.env.DB_POOL_MAX ??= String(pollers);
const { handler } = await import('../../functions/consumer/handler.ts');

const stop = await startSqsEventSource({
  sqs: createSqsClient(),
  queueUrl,
  handler,
  functionName: 'consumer',
  pollers,
  onError: (error) =>
    console.error(`consumer: ${error instanceof Error ? error.message : String(error)}`),
});
console.log(JSON.stringify({ ready: true }));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stop().then(() => process.exit(0)));
}
