/**
 * The fault proxy as a process: `node scripts/fault-proxy/main.ts --target URL [faults]`.
 * Prints one JSON line `{"listening": url}` (the readiness line scripts/local/child-process.ts
 * waits for); faults can be changed while it runs through the control endpoints:
 *   GET /__fault-proxy/stats · DELETE /__fault-proxy/stats
 *   PUT /__fault-proxy/faults {"lostResponse": {"firstN": 1}} · DELETE /__fault-proxy/faults
 */
import { parseArgs } from 'node:util';
import { createFaultProxy, type FaultSettings } from './fault-proxy.ts';

const USAGE = `usage: node scripts/fault-proxy/main.ts --target http://127.0.0.1:3000 [options]
  --port N                   listen on 127.0.0.1:N (default 3100; 0 = any free port)
  --delay-ms MS              hold each request MS before forwarding
  --lost-response FRACTION   drop this fraction of upstream answers (0..1)
  --lost-first N             drop the answers to the first N requests
  --reset FRACTION           reset this fraction of connections before forwarding (0..1)
  --reset-first N            reset the first N connections
  --outage-ms MS             answer 503 for MS from start, without forwarding
  --retry-after SECONDS      Retry-After on outage 503s (default 1)`;

class UsageError extends Error {}

function parse(argv: string[]): { target: string; port: number; faults: FaultSettings } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: 'string' },
        port: { type: 'string' },
        'delay-ms': { type: 'string' },
        'lost-response': { type: 'string' },
        'lost-first': { type: 'string' },
        reset: { type: 'string' },
        'reset-first': { type: 'string' },
        'outage-ms': { type: 'string' },
        'retry-after': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (typeof values.target !== 'string') throw new UsageError('--target is required');
  const number = (name: string, max = Number.POSITIVE_INFINITY): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value) || value < 0 || value > max) {
      throw new UsageError(`--${name} must be a number between 0 and ${max}, got "${raw}"`);
    }
    return value;
  };
  const selector = (fraction: number | undefined, firstN: number | undefined) =>
    fraction === undefined && firstN === undefined
      ? undefined
      : {
          ...(fraction === undefined ? {} : { fraction }),
          ...(firstN === undefined ? {} : { firstN }),
        };
  const lostResponse = selector(number('lost-response', 1), number('lost-first'));
  const reset = selector(number('reset', 1), number('reset-first'));
  const delayMs = number('delay-ms');
  const outageMs = number('outage-ms');
  const retryAfterSeconds = number('retry-after');
  return {
    target: values.target,
    port: number('port', 65_535) ?? 3100,
    faults: {
      ...(lostResponse ? { lostResponse } : {}),
      ...(reset ? { reset } : {}),
      ...(delayMs === undefined ? {} : { delayMs }),
      ...(outageMs === undefined
        ? {}
        : {
            outage: {
              durationMs: outageMs,
              ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
            },
          }),
    },
  };
}

try {
  const { target, port, faults } = parse(process.argv.slice(2));
  const proxy = await createFaultProxy({ target, port, faults, control: true });
  console.log(JSON.stringify({ listening: proxy.url, target, faults }));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(JSON.stringify({ stopping: signal, stats: proxy.stats }));
      proxy.close().then(() => process.exit(0));
    });
  }
} catch (error) {
  console.error(`fault-proxy: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof UsageError) console.error(USAGE);
  process.exit(error instanceof UsageError ? 2 : 1);
}
