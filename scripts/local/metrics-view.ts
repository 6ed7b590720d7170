/**
 * The local metrics view (docs/CONTRACT.md "Metrics"): what CloudWatch shows in AWS,
 * on one machine. It holds a {@link MetricsRegistry} fed with every local process's EMF
 * lines, the latest metrics pushed by retrying clients (`npm run prove`, the runbook
 * scripts), and how often the supervisor restarted each process, and serves:
 *
 * - `GET /metrics`: Prometheus text exposition (0.0.4) of all of it;
 * - `GET /metrics/history`: the same series sampled once a second (the dashboard's backfill);
 * - `POST /metrics/client?source=NAME`: a client's {@link ClientMetricsSnapshot} as JSON;
 * - `GET /dashboard`: a self-contained HTML page charting the contract's metrics, polling /metrics.
 *
 * The text is rendered here rather than with prom-client: prom-client wants each metric
 * declared up front with a fixed label set, while these series arrive as EMF documents whose
 * names and labels are only known when they are read, and the client half arrives as
 * ready-made snapshots (its histogram already bucketed). Rendering them is a few lines;
 * mirroring them into prom-client objects would be more.
 */
import { readFileSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { type ClientMetricsSnapshot, RETRY_DELAY_BUCKETS_SECONDS } from '../../client/index.ts';
import {
  RETRY_ATTEMPTS as ATTEMPT_LABELS,
  IDEMPOTENCY_OUTCOMES,
  MetricName,
  HTTP_OUTCOME_CLASSES as OUTCOME_CLASSES,
} from '../../primitives/metric-names.ts';
import { listen, requestUrl } from './api-gateway.ts';
import { GAUGES, MetricsRegistry } from './emf-metrics.ts';

/** Paths the view answers; the API gateway forwards exactly these to it. */
export const METRICS_VIEW_PATHS = [
  '/metrics',
  '/metrics/history',
  '/metrics/client',
  '/dashboard',
] as const;

const RESTARTS = 'local_process_restarts_total';

const HELP: Record<string, string> = {
  [MetricName.idempotencyKeyTotal]: 'POST /charge requests by what the Idempotency-Key decided.',
  [MetricName.chargeCreatedTotal]: 'Charges written (the charge row and its outbox event).',
  [MetricName.relayPublishedTotal]: 'Outbox events published to SQS and marked published.',
  [MetricName.outboxLagSeconds]: 'Age of the oldest unpublished outbox row.',
  [MetricName.deadLetterQueueDepth]: 'Messages in the dead-letter queue.',
  [MetricName.ledgerAppliedTotal]:
    'Charge events applied to the ledger (the money-moving side effect).',
  [MetricName.inboxDuplicateTotal]: 'Charge events the ledger inbox recognised and absorbed.',
  [MetricName.idempotencyCacheTotal]: 'Redis hot-tier lookups by result.',
  [MetricName.retryAttemptTotal]:
    'Charge attempts sent by clients, by attempt number (1 = first try).',
  [MetricName.httpRequestOutcome]: 'Client charge attempts by how they ended.',
  [MetricName.retryBudgetExhaustedTotal]:
    'Client retries refused because the retry budget was empty.',
  [MetricName.retryDelaySeconds]: 'Time clients waited before each retry.',
  [RESTARTS]: 'Local processes restarted by the supervisor after they died.',
};

/**
 * Series every view shows from the start, so a chart has a zero line before the first event
 * and a reader of /metrics can tell "none yet" from "not reported".
 */
const ALWAYS: { name: string; labels: Record<string, string> }[] = [
  ...IDEMPOTENCY_OUTCOMES.map((outcome) => ({
    name: MetricName.idempotencyKeyTotal,
    labels: { outcome },
  })),
  ...[
    MetricName.chargeCreatedTotal,
    MetricName.relayPublishedTotal,
    MetricName.outboxLagSeconds,
    MetricName.deadLetterQueueDepth,
    MetricName.ledgerAppliedTotal,
    MetricName.inboxDuplicateTotal,
  ].map((name) => ({ name, labels: {} })),
];

const MAX_CLIENT_BODY_BYTES = 64 * 1024;

export interface HistoryPoint {
  /** Epoch milliseconds. */
  t: number;
  /** Series (as written in /metrics, e.g. `idempotency_key_total{outcome="new"}`) → value. */
  values: Record<string, number>;
}

export interface MetricsViewOptions {
  registry?: MetricsRegistry;
  /** Samples kept for /metrics/history; default 900 (15 minutes at one a second). */
  historySize?: number;
  sampleIntervalMs?: number;
}

export class MetricsView {
  readonly registry: MetricsRegistry;
  readonly #clients = new Map<string, ClientMetricsSnapshot>();
  readonly #restarts = new Map<string, number>();
  readonly #history: HistoryPoint[] = [];
  readonly #historySize: number;
  readonly #sampleIntervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: MetricsViewOptions = {}) {
    this.registry = options.registry ?? new MetricsRegistry();
    this.#historySize = options.historySize ?? 900;
    this.#sampleIntervalMs = options.sampleIntervalMs ?? 1_000;
  }

  /** Feeds one output line of a local process; returns whether it was an EMF document. */
  observeLine(line: string): boolean {
    return this.registry.observeLine(line);
  }

  /** The supervisor restarted `service` after it died. */
  recordRestart(service: string): void {
    this.#restarts.set(service, (this.#restarts.get(service) ?? 0) + 1);
  }

  /** Replaces the metrics of client `source` (snapshots are cumulative). */
  setClientMetrics(source: string, snapshot: ClientMetricsSnapshot): void {
    this.#clients.set(source, snapshot);
  }

  /** Starts sampling the series into the history once a second. */
  startSampling(): void {
    if (this.#timer) return;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), this.#sampleIntervalMs);
    this.#timer.unref();
  }

  stopSampling(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  history(): HistoryPoint[] {
    return [...this.#history];
  }

  /** Every series and its current value, keyed as in the exposition. */
  series(): Record<string, number> {
    const values: Record<string, number> = {};
    for (const family of this.#families()) {
      for (const sample of family.samples)
        values[seriesKey(sample.name, sample.labels)] = sample.value;
    }
    return values;
  }

  /** The Prometheus text exposition (version 0.0.4). */
  render(): string {
    const lines: string[] = [];
    for (const family of this.#families()) {
      lines.push(
        `# HELP ${family.name} ${HELP[family.name] ?? 'Reported by a local process (EMF).'}`,
      );
      lines.push(`# TYPE ${family.name} ${family.type}`);
      for (const sample of family.samples) {
        lines.push(`${seriesKey(sample.name, sample.labels)} ${formatValue(sample.value)}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  /**
   * Answers a metrics-view request; returns false (and leaves `res` alone) for any other path.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = requestUrl(req.url);
    if (!url) return false;
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /metrics':
        send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', this.render());
        return true;
      case 'GET /metrics/history':
        send(
          res,
          200,
          'application/json',
          JSON.stringify({ intervalMs: this.#sampleIntervalMs, points: this.#history }),
        );
        return true;
      case 'GET /dashboard':
        send(res, 200, 'text/html; charset=utf-8', dashboardHtml());
        return true;
      case 'POST /metrics/client':
        void this.#receiveClientMetrics(req, res, url.searchParams.get('source') ?? 'client');
        return true;
      default:
        return false;
    }
  }

  async #receiveClientMetrics(req: IncomingMessage, res: ServerResponse, source: string) {
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_CLIENT_BODY_BYTES) throw new Error('body too large');
        chunks.push(chunk as Buffer);
      }
      const snapshot = parseClientSnapshot(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (!/^[\w.-]{1,64}$/.test(source)) throw new Error('source must be 1-64 of [A-Za-z0-9_.-]');
      this.setClientMetrics(source, snapshot);
      res.statusCode = 204;
      res.end();
    } catch (error) {
      send(
        res,
        400,
        'application/problem+json',
        JSON.stringify({
          type: '/problems/invalid-client-metrics',
          title: 'Not a client metrics snapshot',
          status: 400,
          detail: error instanceof Error ? error.message : String(error),
        }),
      );
    }
  }

  #sample(): void {
    this.#history.push({ t: Date.now(), values: this.series() });
    if (this.#history.length > this.#historySize) this.#history.shift();
  }

  #families(): Family[] {
    const families = new Map<string, Family>();
    const family = (name: string, type: Family['type']): Family => {
      let found = families.get(name);
      if (!found) {
        found = { name, type, samples: [] };
        families.set(name, found);
      }
      return found;
    };
    const put = (name: string, type: Family['type'], labels: Labels, value: number) => {
      const target = family(name, type);
      const key = seriesKey(name, labels);
      const existing = target.samples.find(
        (sample) => seriesKey(sample.name, sample.labels) === key,
      );
      if (existing) existing.value = value;
      else target.samples.push({ name, labels, value });
    };

    for (const { name, labels } of ALWAYS) put(name, typeOf(name), labels, 0);
    for (const sample of this.registry.samples()) {
      put(sample.name, typeOf(sample.name), sample.labels, sample.value);
    }

    const client = mergeClientSnapshots([...this.#clients.values()]);
    for (const attempt of ATTEMPT_LABELS) {
      put(
        MetricName.retryAttemptTotal,
        'counter',
        { attempt },
        client.retry_attempt_total[attempt],
      );
    }
    for (const cls of OUTCOME_CLASSES) {
      put(
        MetricName.httpRequestOutcome,
        'counter',
        { class: cls },
        client.http_request_outcome[cls],
      );
    }
    put(MetricName.retryBudgetExhaustedTotal, 'counter', {}, client.retry_budget_exhausted_total);
    const delay = MetricName.retryDelaySeconds;
    const histogram = family(delay, 'histogram');
    for (const bucket of client.retry_delay_seconds.buckets) {
      histogram.samples.push({
        name: `${delay}_bucket`,
        labels: { le: String(bucket.le) },
        value: bucket.count,
      });
    }
    histogram.samples.push(
      {
        name: `${delay}_bucket`,
        labels: { le: '+Inf' },
        value: client.retry_delay_seconds.count,
      },
      { name: `${delay}_sum`, labels: {}, value: client.retry_delay_seconds.sum },
      { name: `${delay}_count`, labels: {}, value: client.retry_delay_seconds.count },
    );

    for (const service of ['api', 'relay', 'consumer', ...this.#restarts.keys()]) {
      put(RESTARTS, 'counter', { service }, this.#restarts.get(service) ?? 0);
    }
    return [...families.values()];
  }
}

type Labels = Record<string, string>;
interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: { name: string; labels: Labels; value: number }[];
}

const typeOf = (name: string): 'counter' | 'gauge' => (GAUGES.has(name) ? 'gauge' : 'counter');

/** `name{a="1",b="2"}` with labels sorted and values escaped, as in the exposition format. */
export function seriesKey(name: string, labels: Labels = {}): string {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return name;
  const inner = entries
    .map(
      ([key, value]) =>
        `${key}="${value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"')}"`,
    )
    .join(',');
  return `${name}{${inner}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** Sums client snapshots (several clients, each cumulative) into one. */
export function mergeClientSnapshots(snapshots: ClientMetricsSnapshot[]): ClientMetricsSnapshot {
  const merged = emptyClientSnapshot();
  for (const snapshot of snapshots) {
    for (const attempt of ATTEMPT_LABELS) {
      merged.retry_attempt_total[attempt] += snapshot.retry_attempt_total[attempt] ?? 0;
    }
    for (const cls of OUTCOME_CLASSES) {
      merged.http_request_outcome[cls] += snapshot.http_request_outcome[cls] ?? 0;
    }
    merged.retry_budget_exhausted_total += snapshot.retry_budget_exhausted_total;
    const delays = merged.retry_delay_seconds;
    for (const bucket of snapshot.retry_delay_seconds.buckets) {
      const target = delays.buckets.find((candidate) => candidate.le === bucket.le);
      if (target) target.count += bucket.count;
      else delays.buckets.push({ ...bucket });
    }
    delays.buckets.sort((a, b) => a.le - b.le);
    delays.sum += snapshot.retry_delay_seconds.sum;
    delays.count += snapshot.retry_delay_seconds.count;
  }
  return merged;
}

function emptyClientSnapshot(): ClientMetricsSnapshot {
  return {
    retry_attempt_total: zeroes(ATTEMPT_LABELS),
    http_request_outcome: zeroes(OUTCOME_CLASSES),
    retry_budget_exhausted_total: 0,
    retry_delay_seconds: {
      buckets: RETRY_DELAY_BUCKETS_SECONDS.map((le) => ({ le, count: 0 })),
      sum: 0,
      count: 0,
    },
  };
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

/** Validates a pushed snapshot; throws a readable error for anything else. */
export function parseClientSnapshot(json: unknown): ClientMetricsSnapshot {
  const count = (value: unknown, what: string): number => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new Error(`${what} must be a non-negative number`);
    }
    return value;
  };
  const record = (value: unknown, what: string): Record<string, unknown> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`${what} must be an object`);
    }
    return value as Record<string, unknown>;
  };
  const input = record(json, 'the snapshot');
  const attempts = record(input.retry_attempt_total, 'retry_attempt_total');
  const outcomes = record(input.http_request_outcome, 'http_request_outcome');
  const delays = record(input.retry_delay_seconds, 'retry_delay_seconds');
  if (!Array.isArray(delays.buckets)) throw new Error('retry_delay_seconds.buckets must be a list');
  const snapshot = emptyClientSnapshot();
  for (const attempt of ATTEMPT_LABELS) {
    snapshot.retry_attempt_total[attempt] = count(
      attempts[attempt] ?? 0,
      `retry_attempt_total.${attempt}`,
    );
  }
  for (const cls of OUTCOME_CLASSES) {
    snapshot.http_request_outcome[cls] = count(outcomes[cls] ?? 0, `http_request_outcome.${cls}`);
  }
  snapshot.retry_budget_exhausted_total = count(
    input.retry_budget_exhausted_total ?? 0,
    'retry_budget_exhausted_total',
  );
  snapshot.retry_delay_seconds = {
    buckets: delays.buckets.slice(0, 64).map((raw, index) => {
      const bucket = record(raw, `retry_delay_seconds.buckets[${index}]`);
      return { le: count(bucket.le, 'le'), count: count(bucket.count, 'count') };
    }),
    sum: count(delays.sum, 'retry_delay_seconds.sum'),
    count: count(delays.count, 'retry_delay_seconds.count'),
  };
  return snapshot;
}

let dashboard: string | undefined;
function dashboardHtml(): string {
  dashboard ??= readFileSync(new URL('./dashboard.html', import.meta.url), 'utf8');
  return dashboard;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

export interface RunningMetricsView {
  url: string;
  view: MetricsView;
  close(): Promise<void>;
}

/**
 * Serves `view` (a new one by default) on 127.0.0.1:`port` (0: any free port); `/` redirects
 * to the dashboard. Starts sampling its history.
 */
export async function startMetricsView(
  options: { port?: number; view?: MetricsView } = {},
): Promise<RunningMetricsView> {
  const view = options.view ?? new MetricsView();
  view.startSampling();
  const server = createServer((req, res) => {
    if (view.handle(req, res)) return;
    if (req.method === 'GET' && (req.url === '/' || req.url === '')) {
      res.writeHead(302, { location: '/dashboard' });
      res.end();
      return;
    }
    send(res, 404, 'text/plain', `not found; try ${METRICS_VIEW_PATHS.join(', ')}\n`);
  });
  server.keepAliveTimeout = 5_000;
  const url = await listen(server, options.port ?? 0);
  return {
    url,
    view,
    close: async () => {
      view.stopSampling();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * For the local API gateway: forwards the metrics-view paths (no API key, as a separate
 * CloudWatch console would need none) to the view at `viewUrl`. Returns a function that
 * answers such a request and returns true, or returns false for every other request.
 */
export function metricsViewProxy(
  viewUrl: string,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const target = new URL(viewUrl);
  return (req, res) => {
    const path = requestUrl(req.url)?.pathname;
    if (!path || !(METRICS_VIEW_PATHS as readonly string[]).includes(path)) return false;
    const upstream = httpRequest(
      {
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.once('error', (error) => {
      if (res.headersSent) return void res.destroy();
      send(
        res,
        502,
        'application/problem+json',
        JSON.stringify({
          type: '/problems/metrics-view-unavailable',
          title: 'The local metrics view is not reachable',
          status: 502,
          detail: String(error),
        }),
      );
    });
    req.pipe(upstream);
    return true;
  };
}
