/**
 * What the runbook scripts share: their command line, a retrying client whose metrics are
 * pushed to the local metrics view (so retry_* show on the dashboard), and a paced loop.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ChargeClient, type ChargeInput, ClientMetrics } from '../../client/index.ts';

export interface RunbookArgs {
  url: string;
  apiKey: string;
  durationSeconds: number;
  rate: number;
  values: Record<string, string | boolean | undefined>;
}

/**
 * Parses `--url` (default http://127.0.0.1:3000, npm start), `--api-key` (local-dev-key),
 * `--duration` seconds, `--rate` charges per second, plus the script's own `options`.
 */
export function runbookArgs(
  usage: string,
  defaults: { duration: number; rate: number },
  options: Record<string, { type: 'string' | 'boolean'; default?: string }> = {},
): RunbookArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:3000' },
        'api-key': { type: 'string', default: 'local-dev-key' },
        duration: { type: 'string', default: String(defaults.duration) },
        rate: { type: 'string', default: String(defaults.rate) },
        help: { type: 'boolean', short: 'h' },
        ...options,
      },
    }).values;
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return {
    url: String(values.url).replace(/\/+$/, ''),
    apiKey: String(values['api-key']),
    durationSeconds: Number(values.duration),
    rate: Number(values.rate),
    values,
  };
}

export function randomCharge(): ChargeInput {
  return {
    amount: 100 + Math.floor(Math.random() * 10_000),
    currency: 'EUR',
    customerId: `cus_runbook_${Math.floor(Math.random() * 20)}`,
  };
}

/** A client whose metrics go to the metrics view at `metricsBase` every second. */
export function dashboardClient(
  name: string,
  metricsBase: string,
  options: Partial<ConstructorParameters<typeof ChargeClient>[0]> & {
    baseUrl: string;
    apiKey: string;
  },
): { client: ChargeClient; metrics: ClientMetrics; stop(): Promise<void> } {
  const metrics = new ClientMetrics();
  const client = new ChargeClient({ ...options, metrics });
  const source = `runbook-${name}-${randomUUID().slice(0, 8)}`;
  const push = () =>
    fetch(`${metricsBase}/metrics/client?source=${source}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(metrics.snapshot()),
      signal: AbortSignal.timeout(2_000),
    }).catch(() => undefined);
  const timer = setInterval(push, 1_000);
  return {
    client,
    metrics,
    stop: async () => {
      clearInterval(timer);
      await push();
    },
  };
}

/** Calls `tick` about `rate` times a second for `seconds`, without waiting for each call. */
export async function paced(
  seconds: number,
  rate: number,
  tick: (index: number) => Promise<unknown>,
  onSecond?: (elapsed: number) => void,
): Promise<void> {
  const started = Date.now();
  const pending = new Set<Promise<unknown>>();
  let index = 0;
  let lastReport = 0;
  while (Date.now() - started < seconds * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (index < due) {
      const call = tick(index++).catch(() => undefined);
      pending.add(call);
      call.finally(() => pending.delete(call));
    }
    const elapsed = Math.floor((Date.now() - started) / 1000);
    if (elapsed !== lastReport) {
      lastReport = elapsed;
      onSecond?.(elapsed);
    }
    await sleep(20);
  }
  await Promise.all(pending);
}
