/**
 * The local relay process: the relay Lambda with the settings it has in AWS
 * (functions/relay/relay-settings.ts): each invocation drains for up to the Lambda timeout,
 * polling an empty outbox every few tens of milliseconds, and the "schedule" starts the next
 * invocation LOCAL_RELAY_INTERVAL_MS (default 1000) after one ends. Several relay processes
 * may run: only the holder of the relay lease publishes. It also runs the reconciliation
 * Lambda every RECONCILE_INTERVAL_MS (default 60000, as its AWS schedule), so the local stack
 * needs no extra process for it.
 * Needs DATABASE_URL, QUEUE_URL, DLQ_URL and an SQS endpoint. Prints `{"ready": true}`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RELAY_SETTINGS } from '../../functions/relay/relay-settings.ts';
import { initLocalLambdaRuntime, invokeLocally } from './lambda-runtime.ts';

await initLocalLambdaRuntime();
const { handler } = await import('../../functions/relay/handler.ts');
const reconciliation = await import('../../functions/reconciliation/handler.ts');

const intervalMs = Number(process.env.LOCAL_RELAY_INTERVAL_MS ?? 1000);
const timeoutMs = Number(
  process.env.LOCAL_RELAY_TIMEOUT_MS ?? RELAY_SETTINGS.timeoutSeconds * 1000,
);
const reconcileEveryMs = Number(process.env.RECONCILE_INTERVAL_MS ?? 60_000);
let running = true;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    running = false;
    process.exit(0);
  });
}
console.log(JSON.stringify({ ready: true }));

function scheduledEvent() {
  return { source: 'aws.events', 'detail-type': 'Scheduled Event', time: new Date().toISOString() };
}

async function every(ms: number, functionName: string, invoke: () => Promise<unknown>) {
  while (running) {
    try {
      await invoke();
    } catch (error) {
      console.error(`${functionName}: ${error instanceof Error ? error.message : String(error)}`);
    }
    await sleep(ms);
  }
}

await Promise.all([
  every(intervalMs, 'relay', () =>
    invokeLocally(handler, scheduledEvent(), { functionName: 'relay', timeoutMs }),
  ),
  every(reconcileEveryMs, 'reconciliation', () =>
    invokeLocally(reconciliation.handler, scheduledEvent(), {
      functionName: 'reconciliation',
      timeoutMs: 60_000,
    }),
  ),
]);
