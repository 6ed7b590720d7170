/**
 * `npm run prove`: the effectively-once proof (docs/CONTRACT.md "Proof"), or with --schedules the seeded
 * randomized fault schedules. See `--help`.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { createPool } from '../../functions/store/database.ts';
import { type LocalStack, startLocalStack, stopOnSignals } from '../local/stack/stack.ts';
import { type ProofTarget, runProof } from './proof.ts';
import { newSeed } from './random.ts';
import { formatReport } from './report.ts';
import { scheduleEnvironmentOf, scheduleStackOptions } from './schedule-environment.ts';
import { runSchedules } from './schedules.ts';

const USAGE = `npm run prove -- [options]

Runs N logical charges through the retrying client and a fault proxy while injecting
duplicates, same-key bursts, lost responses, key reuse with a changed body, a relay SIGKILL
and a PostgreSQL SIGKILL; waits for the pipeline to drain; reports from /metrics and
cross-checks the ledger and every charge answered 201.
Exit 0 only if applied side effects == logical operations and nothing was applied twice.

  --ops N               logical charges (default 1000)
  --concurrency N       charges in flight at once (default 20)
  --seed N              the fault plan's seed (default: random, printed)
  --url URL             prove against a running API (e.g. npm start's http://127.0.0.1:3000)
                        instead of starting a local stack; no relay SIGKILL then
  --metrics-url URL     its /metrics (default URL/metrics)
  --database-url URL    local stack: use this database instead of an embedded server;
                        with --url: cross-check in it (default: GET /charges/{id})
  --api-key KEY         default local-dev-key
  --port N              local stack: API port (default any free one)
  --json FILE           also write the report as JSON
  --hold SECONDS        local stack: keep it running this long after the report (dashboard)
  --no-relay-kill       do not SIGKILL the relay
  --no-database-kill    do not SIGKILL PostgreSQL (never done with --database-url: the
                        stack can only restart a server it runs)
  --sabotage truncate-inbox
                        TEST ONLY: empty ledger.inbox before the killed relay's events are
                        re-published, to show that the proof fails when a dedup layer is off
  --schedules N         run N seeded randomized fault schedules instead (fast-check)
  --path P              with --schedules: replay the counterexample path fast-check printed
`;

let values: Record<string, string | boolean | undefined>;
try {
  values = parseArgs({
    options: {
      ops: { type: 'string' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
      url: { type: 'string' },
      'metrics-url': { type: 'string' },
      'database-url': { type: 'string' },
      'api-key': { type: 'string' },
      port: { type: 'string' },
      json: { type: 'string' },
      hold: { type: 'string' },
      'no-relay-kill': { type: 'boolean' },
      'no-database-kill': { type: 'boolean' },
      sabotage: { type: 'string' },
      schedules: { type: 'string' },
      path: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

/**
 * A Powertools JSON log line as `message: cause` (the database SIGKILL makes every request in
 * flight log its stack); any other line as it is.
 */
function oneLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const entry = JSON.parse(line) as {
      message?: string;
      error?: { message?: string; cause?: { message?: string } };
    };
    const cause = entry.error?.cause?.message ?? entry.error?.message;
    return cause ? `${entry.message}: ${cause}` : String(entry.message ?? line);
  } catch {
    return line;
  }
}

function integer(name: string, fallback: number, min = 1): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`--${name} must be an integer ≥ ${min}`);
    process.exit(2);
  }
  return value;
}

const seed = integer('seed', newSeed(), 0);
const sabotage = values.sabotage as string | undefined;
if (sabotage !== undefined && sabotage !== 'truncate-inbox') {
  console.error('--sabotage: the only sabotage is truncate-inbox');
  process.exit(2);
}
const apiKey = (values['api-key'] as string | undefined) ?? 'local-dev-key';
const remoteUrl = values.url as string | undefined;
const log = (line: string) => console.log(line);

let stack: LocalStack | undefined;
let externalPool: pg.Pool | undefined;
let exitCode = 1;
const stopAll = async () => {
  await stack?.stop();
  await externalPool?.end();
};
stopOnSignals(stopAll, 130);

try {
  let target: ProofTarget;
  if (remoteUrl) {
    const databaseUrl = values['database-url'] as string | undefined;
    if (databaseUrl) externalPool = createPool(databaseUrl, { max: 4 });
    target = {
      apiUrl: remoteUrl.replace(/\/+$/, ''),
      metricsUrl:
        (values['metrics-url'] as string | undefined) ?? `${remoteUrl.replace(/\/+$/, '')}/metrics`,
      ...(externalPool ? { pool: externalPool } : {}),
    };
  } else {
    log('starting a local stack (PostgreSQL, SQS, API, relay, consumer, metrics view)…');
    const databaseUrl = values['database-url'] as string | undefined;
    const schedules = values.schedules !== undefined;
    const tuned = schedules ? scheduleStackOptions() : {};
    stack = await startLocalStack({
      ...(databaseUrl ? { databaseUrl } : {}),
      port: integer('port', 0, 0),
      apiKeys: `${apiKey}:local-client`,
      env: { LOCAL_RELAY_INTERVAL_MS: '250' },
      quiet: true,
      dropInherited: ['FAILPOINTS'],
      ...tuned,
      queue: {
        name: `prove-${process.pid}-${Date.now().toString(36)}`,
        visibilityTimeoutSeconds: 5,
        ...tuned.queue,
      },
      onLine: (line, service) => {
        if (/error|fail/i.test(line) && !line.includes('failpoint')) {
          log(`[${service}] ${oneLine(line)}`);
        }
      },
    });
    log(
      `API ${stack.apiUrl} · metrics ${stack.apiUrl}/metrics · dashboard ${stack.apiUrl}/dashboard`,
    );
    target = {
      apiUrl: stack.apiUrl,
      metricsUrl: `${stack.apiUrl}/metrics`,
      pool: stack.pool,
      stack,
    };
  }

  if (values.schedules !== undefined) {
    if (!stack) throw new Error('--schedules needs the local stack (drop --url)');
    const environment = await scheduleEnvironmentOf(stack, process.env.REDIS_URL);
    const result = await runSchedules({
      stack: environment,
      numRuns: integer('schedules', 100),
      seed,
      ...(values.path ? { path: String(values.path) } : {}),
      log,
    });
    await environment.close();
    log(result.summary);
    exitCode = result.ok ? 0 : 1;
  } else {
    log(
      `proving ${integer('ops', 1000)} logical charges at concurrency ${integer('concurrency', 20)}, seed ${seed}`,
    );
    const report = await runProof({
      target,
      apiKey,
      ops: integer('ops', 1000),
      concurrency: integer('concurrency', 20),
      seed,
      relayKill: Boolean(stack) && !values['no-relay-kill'],
      databaseKill: Boolean(stack?.database.embedded) && !values['no-database-kill'],
      ...(sabotage ? { sabotage: 'truncate-inbox' as const } : {}),
      log,
    });
    process.stdout.write(formatReport(report));
    if (values.json) {
      await writeFile(String(values.json), `${JSON.stringify(report, null, 2)}\n`);
      log(`report written to ${values.json}`);
    }
    exitCode = report.holds ? 0 : 1;
  }
  const hold = integer('hold', 0, 0);
  if (stack && hold > 0) {
    log(`holding the stack for ${hold} s: ${stack.apiUrl}/dashboard`);
    await new Promise((resolve) => setTimeout(resolve, hold * 1000));
  }
} catch (error) {
  console.error(
    `prove failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  exitCode = 1;
} finally {
  await stopAll();
}
process.exit(exitCode);
