import { parseArgs } from 'node:util';

/** Everything the benchmark can be told; `--quick` picks small sizes for a smoke run. */
export interface BenchOptions {
  quick: boolean;
  json: string | undefined;
  /** HTTP client concurrency (= pg connections for the limit loop); the best is reported. */
  concurrency: number[];
  /** Seconds of measurement per saturation run (after `warmupSeconds`). */
  durationSeconds: number;
  warmupSeconds: number;
  /** Saturation rounds per concurrency: pg loop and HTTP alternate, the best of each counts. */
  rounds: number;
  /** Seconds of open-loop load at half the saturation rate. */
  latencySeconds: number;
  /** Replay requests per tier (Postgres only, Redis), sent open-loop at `replayRate`. */
  replayRequests: number;
  replayRate: number;
  /** Distinct keys the replays cycle through. */
  replayKeys: number;
  relayBacklog: number;
  backlog: number;
  backlogLimit: number;
  consumerPollers: number;
  e2eCharges: number;
  e2eRate: number;
  initRuns: number;
  /** Directory for CPU profiles of the API processes (charge load, replays); summaries printed. */
  profileDir: string | undefined;
  skip: Set<string>;
}

export const PHASES = ['charge', 'replay', 'relay', 'backlog', 'e2e', 'bundle'] as const;

const HELP = `npm run bench -- [options]

  --quick                 small sizes (a smoke run of ~20 s; numbers are not meaningful)
  --json FILE             also write the results as JSON
  --concurrency N[,N…]    HTTP concurrency = pg connections (default 16); a list sweeps
  --duration S            seconds per saturation measurement (default 8), after --warmup S (2)
  --rounds N              alternating pg/HTTP saturation rounds, best counts (default 2)
  --latency-seconds S     seconds of open-loop load at 50 % of saturation (default 10)
  --replay-requests N     replays per tier (default 2000) at --replay-rate R/s (default 200),
                          cycling over --replay-keys N completed keys (default 200)
  --relay-backlog N       rows for the unthrottled relay run (default 20000)
  --backlog N             rows for the rate-limited backlog run (default 18000)
  --backlog-limit R       RELAY_MAX_EVENTS_PER_SECOND for the backlog run (default 500)
  --consumer-pollers N    LOCAL_CONSUMER_POLLERS for the backlog run (default 8)
  --e2e-charges N         charges timed to the ledger (default 200) at --e2e-rate R/s (default 20)
  --init-runs N           cold imports of the bundle (default 7)
  --profile-dir DIR       CPU-profile the API processes (charge load, replays); print top frames
  --skip PHASE[,PHASE…]   leave out phases: ${PHASES.join(', ')}

DATABASE_URL: a PostgreSQL server to use instead of an embedded one (the bench creates and
drops its own databases on it). AWS_ENDPOINT_URL: an SQS endpoint instead of embedded fauxqs.`;

export function parseBenchOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      json: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      'latency-seconds': { type: 'string' },
      'replay-requests': { type: 'string' },
      'replay-rate': { type: 'string' },
      'replay-keys': { type: 'string' },
      'relay-backlog': { type: 'string' },
      backlog: { type: 'string' },
      'backlog-limit': { type: 'string' },
      'consumer-pollers': { type: 'string' },
      'e2e-charges': { type: 'string' },
      'e2e-rate': { type: 'string' },
      'init-runs': { type: 'string' },
      'profile-dir': { type: 'string' },
      skip: { type: 'string' },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const num = (raw: string | undefined, full: number, small: number): number => {
    if (raw === undefined) return quick ? small : full;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`not a positive number: ${raw}`);
    return value;
  };
  const concurrency = (values.concurrency ?? (quick ? '8' : '16'))
    .split(',')
    .map((part) => Math.round(num(part, 16, 8)));
  const skip = new Set((values.skip ?? '').split(',').filter(Boolean));
  for (const phase of skip) {
    if (!(PHASES as readonly string[]).includes(phase)) throw new Error(`unknown phase: ${phase}`);
  }
  return {
    quick,
    json: values.json,
    concurrency,
    durationSeconds: num(values.duration, 8, 1.5),
    warmupSeconds: num(values.warmup, 2, 0.5),
    rounds: Math.round(num(values.rounds, 2, 1)),
    latencySeconds: num(values['latency-seconds'], 10, 1.5),
    replayRequests: Math.round(num(values['replay-requests'], 2000, 200)),
    replayRate: num(values['replay-rate'], 200, 200),
    replayKeys: Math.round(num(values['replay-keys'], 200, 40)),
    relayBacklog: Math.round(num(values['relay-backlog'], 20_000, 1_000)),
    backlog: Math.round(num(values.backlog, 18_000, 1_000)),
    backlogLimit: num(values['backlog-limit'], 500, 500),
    consumerPollers: Math.round(num(values['consumer-pollers'], 8, 8)),
    e2eCharges: Math.round(num(values['e2e-charges'], 200, 20)),
    e2eRate: num(values['e2e-rate'], 20, 20),
    initRuns: Math.round(num(values['init-runs'], 7, 3)),
    profileDir: values['profile-dir'],
    skip,
  };
}

export { HELP };
