/**
 * The local relay process: invokes the relay Lambda on a schedule, as EventBridge does in AWS
 * (every minute there; every LOCAL_RELAY_INTERVAL_MS here, default 1000, so a local charge
 * reaches the ledger in about a second). Invocations never overlap within this process.
 * Needs DATABASE_URL, QUEUE_URL, DLQ_URL and an SQS endpoint. Prints `{"ready": true}`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { initLocalLambdaRuntime, invokeLocally } from './lambda-runtime.ts';

await initLocalLambdaRuntime();
const { handler } = await import('../../functions/relay/handler.ts');

const intervalMs = Number(process.env.LOCAL_RELAY_INTERVAL_MS ?? 1000);
const timeoutMs = Number(process.env.LOCAL_RELAY_TIMEOUT_MS ?? 60_000);
let running = true;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    running = false;
    process.exit(0);
  });
}
console.log(JSON.stringify({ ready: true }));

while (running) {
  const scheduledEvent = {
    source: 'aws.events',
    'detail-type': 'Scheduled Event',
    time: new Date().toISOString(),
  };
  try {
    await invokeLocally(handler, scheduledEvent, { functionName: 'relay', timeoutMs });
  } catch (error) {
    console.error(`relay: ${error instanceof Error ? error.message : String(error)}`);
  }
  await sleep(intervalMs);
}
