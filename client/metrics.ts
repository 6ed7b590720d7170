/**
 * The client's half of the dashboard (docs/CONTRACT.md "Metrics"), recorded in process and without
 * dependencies, so any harness can read them: {@link ClientMetrics.snapshot} as an object,
 * {@link ClientMetrics.render} as Prometheus text. Several clients may share one recorder.
 */

import {
  RETRY_ATTEMPTS as ATTEMPT_LABELS,
  type AttemptLabel,
  attemptLabel,
  CLIENT_SERVICE_NAME,
  METRIC_NAMESPACE,
  MetricName,
  HTTP_OUTCOME_CLASSES as OUTCOME_CLASSES,
  type OutcomeClass,
} from '../primitives/metric-names.ts';

// The attempt header and the labels are part of the metric contract the service reads too.
export { ATTEMPT_HEADER, attemptHeaderValue } from '../primitives/attempt-header.ts';
/** The label types, from the metric contract (primitives/metric-names.ts). */
export type { AttemptLabel, OutcomeClass };
export { attemptLabel, CLIENT_SERVICE_NAME };

/** Upper bounds (seconds) of the retry_delay_seconds buckets; +Inf is implied. */
export const RETRY_DELAY_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;

/** A histogram's state, as Prometheus reports it. */
export interface HistogramSnapshot {
  /** Cumulative counts, as Prometheus buckets: `count` observations were ≤ `le`. */
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/** Every client metric's value at one moment, keyed by metric name. */
export interface ClientMetricsSnapshot {
  [MetricName.retryAttemptTotal]: Record<AttemptLabel, number>;
  [MetricName.httpRequestOutcome]: Record<OutcomeClass, number>;
  [MetricName.retryBudgetExhaustedTotal]: number;
  [MetricName.retryDelaySeconds]: HistogramSnapshot;
}

/** Where else a {@link ClientMetrics} writes what it records. */
export interface ClientMetricsOptions {
  /**
   * Also write every recorded value as one CloudWatch Embedded Metric Format line (for a
   * client running in Lambda, `(line) => console.log(line)`: CloudWatch turns its stdout
   * into metrics). Dimensions: `service=payments-client` plus the metric's label.
   */
  emf?: (line: string) => void;
}

/** The `class` label of an answer with `status`. */
export function outcomeClassOf(status: number): OutcomeClass {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

/** The client's counters and histogram, in process: snapshot, Prometheus text, optional EMF. */
export class ClientMetrics {
  private readonly attempts = zeroes(ATTEMPT_LABELS);
  private readonly outcomes = zeroes(OUTCOME_CLASSES);
  private budgetExhausted = 0;
  private readonly delayBuckets: number[] = RETRY_DELAY_BUCKETS_SECONDS.map(() => 0);
  private delaySum = 0;
  private delayCount = 0;
  private readonly emf: ((line: string) => void) | undefined;

  constructor(options: ClientMetricsOptions = {}) {
    this.emf = options.emf;
  }

  /** An attempt is about to be sent; `attempt` counts from 1. */
  recordAttempt(attempt: number): void {
    this.attempts[attemptLabel(attempt)] += 1;
    this.writeEmf(MetricName.retryAttemptTotal, 'Count', 1, { attempt: attemptLabel(attempt) });
  }

  /** How one attempt ended. */
  recordOutcome(outcome: OutcomeClass): void {
    this.outcomes[outcome] += 1;
    this.writeEmf(MetricName.httpRequestOutcome, 'Count', 1, { class: outcome });
  }

  /** A retry was wanted but the retry budget could not pay for it. */
  recordBudgetExhausted(): void {
    this.budgetExhausted += 1;
    this.writeEmf(MetricName.retryBudgetExhaustedTotal, 'Count', 1);
  }

  /** The client is about to wait `seconds` before a retry. */
  observeRetryDelay(seconds: number): void {
    const value = Math.max(0, seconds);
    const index = RETRY_DELAY_BUCKETS_SECONDS.findIndex((le) => value <= le);
    if (index >= 0) this.delayBuckets[index] = (this.delayBuckets[index] ?? 0) + 1;
    this.delaySum += value;
    this.delayCount += 1;
    this.writeEmf(MetricName.retryDelaySeconds, 'Seconds', value);
  }

  /** One EMF document; hand-written so the client keeps no dependencies. */
  private writeEmf(
    name: string,
    unit: 'Count' | 'Seconds',
    value: number,
    labels: Record<string, string> = {},
  ): void {
    if (!this.emf) return;
    this.emf(
      JSON.stringify({
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [
            {
              Namespace: METRIC_NAMESPACE,
              Dimensions: [['service', ...Object.keys(labels)]],
              Metrics: [{ Name: name, Unit: unit }],
            },
          ],
        },
        service: CLIENT_SERVICE_NAME,
        ...labels,
        [name]: value,
      }),
    );
  }

  /** A copy of every value; later recording does not change it. */
  snapshot(): ClientMetricsSnapshot {
    let cumulative = 0;
    return {
      retry_attempt_total: { ...this.attempts },
      http_request_outcome: { ...this.outcomes },
      retry_budget_exhausted_total: this.budgetExhausted,
      retry_delay_seconds: {
        buckets: RETRY_DELAY_BUCKETS_SECONDS.map((le, index) => {
          cumulative += this.delayBuckets[index] ?? 0;
          return { le, count: cumulative };
        }),
        sum: this.delaySum,
        count: this.delayCount,
      },
    };
  }

  /** The Prometheus text exposition (version 0.0.4) of {@link snapshot}. */
  render(): string {
    const snapshot = this.snapshot();
    const attempts = MetricName.retryAttemptTotal;
    const outcomes = MetricName.httpRequestOutcome;
    const exhausted = MetricName.retryBudgetExhaustedTotal;
    const delay = MetricName.retryDelaySeconds;
    const lines = [
      `# HELP ${attempts} Charge attempts sent, by attempt number (1 = first try).`,
      `# TYPE ${attempts} counter`,
      ...ATTEMPT_LABELS.map(
        (label) => `${attempts}{attempt="${label}"} ${snapshot[attempts][label]}`,
      ),
      `# HELP ${outcomes} Charge attempts by how they ended.`,
      `# TYPE ${outcomes} counter`,
      ...OUTCOME_CLASSES.map((cls) => `${outcomes}{class="${cls}"} ${snapshot[outcomes][cls]}`),
      `# HELP ${exhausted} Retries refused because the retry budget was empty.`,
      `# TYPE ${exhausted} counter`,
      `${exhausted} ${snapshot[exhausted]}`,
      `# HELP ${delay} Time waited before each retry.`,
      `# TYPE ${delay} histogram`,
      ...snapshot[delay].buckets.map(({ le, count }) => `${delay}_bucket{le="${le}"} ${count}`),
      `${delay}_bucket{le="+Inf"} ${snapshot[delay].count}`,
      `${delay}_sum ${snapshot[delay].sum}`,
      `${delay}_count ${snapshot[delay].count}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}
