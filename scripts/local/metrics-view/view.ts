/**
 * The metrics view's state: a {@link MetricsRegistry} fed with every local process's EMF lines,
 * the latest metrics pushed by retrying clients, how often the supervisor restarted each
 * process, and a history of the series sampled once a second.
 *
 * The text is rendered here rather than with prom-client: prom-client wants each metric
 * declared up front with a fixed label set, while these series arrive as EMF documents whose
 * names and labels are only known when they are read, and the client half arrives as
 * ready-made snapshots (its histogram already bucketed). Rendering them is a few lines;
 * mirroring them into prom-client objects would be more.
 */
import type { ClientMetricsSnapshot } from '../../../client/index.ts';
import {
  RETRY_ATTEMPTS as ATTEMPT_LABELS,
  IDEMPOTENCY_OUTCOMES,
  MetricName,
  HTTP_OUTCOME_CLASSES as OUTCOME_CLASSES,
} from '../../../primitives/metric-names.ts';
import { GAUGES, MetricsRegistry } from '../emf-metrics.ts';
import { mergeClientSnapshots } from './client-snapshots.ts';
import { type Family, type Labels, renderExposition, seriesKey } from './exposition.ts';

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
    'Charge attempts by attempt number (1 = first try): counted by the charge function from the attempt header, and by clients (source="client").',
  [MetricName.httpRequestOutcome]:
    'Charge requests by how they ended: answered by the charge function, and as clients saw them (source="client").',
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

  /** Stops sampling (the history is kept). */
  stopSampling(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The sampled series, oldest first. */
  history(): HistoryPoint[] {
    return [...this.#history];
  }

  /** How often {@link startSampling} samples. */
  get sampleIntervalMs(): number {
    return this.#sampleIntervalMs;
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
    return renderExposition(
      this.#families(),
      (name) => HELP[name] ?? 'Reported by a local process (EMF).',
    );
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
    // The charge function emits these two metrics too (from the attempt header and its own
    // answers), with the same labels: the clients' series carry source="client" so neither
    // side's count overwrites the other's.
    const fromClients = { source: 'client' };
    for (const attempt of ATTEMPT_LABELS) {
      put(
        MetricName.retryAttemptTotal,
        'counter',
        { attempt, ...fromClients },
        client.retry_attempt_total[attempt],
      );
    }
    for (const cls of OUTCOME_CLASSES) {
      put(
        MetricName.httpRequestOutcome,
        'counter',
        { class: cls, ...fromClients },
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

const typeOf = (name: string): 'counter' | 'gauge' => (GAUGES.has(name) ? 'gauge' : 'counter');
