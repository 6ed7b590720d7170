/**
 * npm run experiment:failover: doubles and lost charges when a region dies, with asynchronous
 * and synchronous PostgreSQL replication. See docs/GLOBAL.md for what it measures and why.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { ReplicationMode } from './episode.ts';
import {
  DEFAULT_EXPERIMENT,
  type ExperimentOptions,
  type ExperimentResult,
  runFailoverExperiment,
} from './experiment.ts';
import { modelFigures } from './model.ts';
import { formatModel, formatTable } from './report.ts';

const HELP = `npm run experiment:failover -- [options]

Two PostgreSQL servers (region A primary, region B streaming replica over a link delayed by
--one-way-ms), the real charge handler in front of each, --clients clients charging through A.
A is SIGKILLed (with its API and its link) at a random moment, B is promoted after
--detect-ms, the clients' retries land in B. Per failover, A's disk is read back.

  --modes async,sync        replication modes (default async,sync)
  --seeds 1,2,3             seeds, one run of --failovers episodes each (default 1,2,3)
  --failovers N             failovers per seed and mode (default ${DEFAULT_EXPERIMENT.failovers})
  --clients N               concurrent clients (default ${DEFAULT_EXPERIMENT.clients})
  --kill-window MIN,MAX     ms after load starts in which A dies (default ${DEFAULT_EXPERIMENT.killWindowMs.join(',')})
  --one-way-ms MS           one-way delay between the regions (default ${DEFAULT_EXPERIMENT.oneWayDelayMs})
  --detect-ms MS            kill → B promoted and serving (default ${DEFAULT_EXPERIMENT.detectMs})
  --relay-interval-ms MS    how often A's relay publishes its outbox (default ${DEFAULT_EXPERIMENT.relayIntervalMs})
  --json FILE               also write the results and the model as JSON
`;

function parseOptions(argv: string[]): { options: ExperimentOptions; json?: string } | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      modes: { type: 'string' },
      seeds: { type: 'string' },
      failovers: { type: 'string' },
      clients: { type: 'string' },
      'kill-window': { type: 'string' },
      'one-way-ms': { type: 'string' },
      'detect-ms': { type: 'string' },
      'relay-interval-ms': { type: 'string' },
      json: { type: 'string' },
    },
  });
  if (values.help) return 'help';
  const positive = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`--${name} must be a non-negative number, got "${raw}"`);
    }
    return value;
  };
  const list = (name: string, raw: string | undefined, fallback: number[]): number[] =>
    raw === undefined
      ? fallback
      : raw.split(',').map((part) => Math.round(positive(name, part.trim(), 0)));
  const modes = (values.modes ?? 'async,sync').split(',').map((mode) => mode.trim());
  for (const mode of modes) {
    if (mode !== 'async' && mode !== 'sync') {
      throw new Error(`--modes takes async and/or sync, got "${mode}"`);
    }
  }
  const killWindow = list('kill-window', values['kill-window'], DEFAULT_EXPERIMENT.killWindowMs);
  const [minKill, maxKill] = killWindow;
  if (
    killWindow.length !== 2 ||
    minKill === undefined ||
    maxKill === undefined ||
    minKill > maxKill
  ) {
    throw new Error('--kill-window takes MIN,MAX in milliseconds, MIN <= MAX');
  }
  const failovers = Math.round(
    positive('failovers', values.failovers, DEFAULT_EXPERIMENT.failovers),
  );
  const clients = Math.round(positive('clients', values.clients, DEFAULT_EXPERIMENT.clients));
  if (failovers < 1 || clients < 1) throw new Error('--failovers and --clients must be at least 1');
  return {
    options: {
      ...DEFAULT_EXPERIMENT,
      modes: modes as ReplicationMode[],
      seeds: list('seeds', values.seeds, DEFAULT_EXPERIMENT.seeds),
      failovers,
      clients,
      killWindowMs: [minKill, maxKill],
      oneWayDelayMs: positive('one-way-ms', values['one-way-ms'], DEFAULT_EXPERIMENT.oneWayDelayMs),
      detectMs: positive('detect-ms', values['detect-ms'], DEFAULT_EXPERIMENT.detectMs),
      relayIntervalMs: positive(
        'relay-interval-ms',
        values['relay-interval-ms'],
        DEFAULT_EXPERIMENT.relayIntervalMs,
      ),
    },
    ...(values.json ? { json: values.json } : {}),
  };
}

let parsed: ReturnType<typeof parseOptions>;
try {
  parsed = parseOptions(process.argv.slice(2));
} catch (error) {
  console.error(`experiment:failover: ${(error as Error).message}\n\n${HELP}`);
  process.exit(2);
}
if (parsed === 'help') {
  console.log(HELP);
  process.exit(0);
}
const { options, json } = parsed;
const episodes = options.modes.length * options.seeds.length * options.failovers;
console.log(
  `failover experiment: ${options.modes.join(' + ')}, seeds ${options.seeds.join(',')}, ` +
    `${options.failovers} failovers each (${episodes} in all), ${options.clients} clients, ` +
    `one-way delay ${options.oneWayDelayMs} ms`,
);
let done = 0;
const startedAt = performance.now();
let result: ExperimentResult;
try {
  result = await runFailoverExperiment(options, ({ mode, seed, failover, episode }) => {
    done++;
    const c = episode.classification;
    const elapsed = (performance.now() - startedAt) / 1000;
    console.log(
      `  [${done}/${episodes}] ${mode} seed ${seed} failover ${failover}: ` +
        `${c.operations} ops, A killed at ${Math.round(episode.killAtMs)} ms, ` +
        `${c.tail} unreplicated (${c.tailAcknowledged} acknowledged), ` +
        `doubles ${c.discardTail.doubles}/${c.recoverTail.doubles} lost ${c.discardTail.lost}/${c.recoverTail.lost} ` +
        `(tail discarded/recovered), ${episode.answeredByB} answered by B · ${elapsed.toFixed(0)} s`,
    );
  });
} catch (error) {
  console.error(`experiment:failover failed: ${(error as Error).message}`);
  process.exit(1);
}
const model = modelFigures(result.totals, options.oneWayDelayMs);
console.log(`\n${formatTable(result)}\n\n${formatModel(model)}`);
if (json) {
  await mkdir(dirname(json), { recursive: true });
  await writeFile(json, `${JSON.stringify({ ...result, model }, null, 2)}\n`);
  console.log(`\nJSON written to ${json}`);
}
