/**
 * The metric contract: names and label values shared by everything that emits or reads a
 * metric: the handlers (EMF through Powertools), the client (its Prometheus text), the local
 * metrics view and the CDK dashboard and alarms. One place, imported by all of them, so a
 * renamed metric or label breaks the build instead of silently flat-lining a graph.
 */

/** EMF namespace; the functions receive it as POWERTOOLS_METRICS_NAMESPACE. */
export const METRIC_NAMESPACE = 'EffectivelyOncePayments';

/** Powertools adds `service=<this>` to every metric; the functions get POWERTOOLS_SERVICE_NAME. */
export const SERVICE_NAME = 'payments';

/** The `service` dimension of the metrics a client emits as EMF (same namespace). */
export const CLIENT_SERVICE_NAME = 'payments-client';

/** Every metric name, by what it counts. */
export const MetricName = {
  idempotencyKeyTotal: 'idempotency_key_total',
  retryAttemptTotal: 'retry_attempt_total',
  retryDelaySeconds: 'retry_delay_seconds',
  outboxLagSeconds: 'outbox_lag_seconds',
  deadLetterQueueDepth: 'dead_letter_queue_depth',
  httpRequestOutcome: 'http_request_outcome',
  chargeCreatedTotal: 'charge_created_total',
  ledgerAppliedTotal: 'ledger_applied_total',
  inboxDuplicateTotal: 'inbox_duplicate_total',
  relayPublishedTotal: 'relay_published_total',
  retryBudgetExhaustedTotal: 'retry_budget_exhausted_total',
  idempotencyCacheTotal: 'idempotency_cache_total',
  unappliedCharges: 'unapplied_charges',
  reconciliationRequeuedTotal: 'reconciliation_requeued_total',
  poisonMessageTotal: 'poison_message_total',
  housekeepingDeletedTotal: 'housekeeping_deleted_total',
} as const;
/** One of {@link MetricName}'s values. */
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** The metrics that are point-in-time readings (gauges); every other one is a count. */
export const GAUGE_METRICS: readonly MetricName[] = [
  MetricName.outboxLagSeconds,
  MetricName.deadLetterQueueDepth,
  MetricName.unappliedCharges,
];

/** `outcome` label of idempotency_key_total: what the service did with a request's key. */
export const IDEMPOTENCY_OUTCOMES = ['new', 'replay', 'in_flight', 'mismatch'] as const;
/** One of {@link IDEMPOTENCY_OUTCOMES}. */
export type IdempotencyOutcome = (typeof IDEMPOTENCY_OUTCOMES)[number];

/** `attempt` label of retry_attempt_total: 1 is the first try; everything past 3 is "4+". */
export const RETRY_ATTEMPTS = ['1', '2', '3', '4+'] as const;
/** One of {@link RETRY_ATTEMPTS}. */
export type AttemptLabel = (typeof RETRY_ATTEMPTS)[number];

/** The `attempt` label of attempt number `attempt` (from 1). */
export function attemptLabel(attempt: number): AttemptLabel {
  return attempt >= 4 ? '4+' : (String(Math.max(1, Math.trunc(attempt))) as AttemptLabel);
}

/**
 * `class` label of http_request_outcome, one per attempt. `network` (connection refused,
 * reset, or closed before the answer, e.g. a lost response) is beside the contract's status
 * classes and `timeout` because it is neither an answer nor a timeout.
 */
export const HTTP_OUTCOME_CLASSES = ['2xx', '3xx', '4xx', '5xx', 'timeout', 'network'] as const;
/** One of {@link HTTP_OUTCOME_CLASSES}. */
export type OutcomeClass = (typeof HTTP_OUTCOME_CLASSES)[number];
/**
 * The classes the service itself can report for an answer it gave. Timeouts are not among
 * them: a function that runs out of time never answers, so the dashboard takes them from API
 * Gateway's own metrics.
 */
export const SERVER_OUTCOME_CLASSES = [
  '2xx',
  '4xx',
  '5xx',
] as const satisfies readonly OutcomeClass[];

/** `result` label of idempotency_cache_total: what the Redis hot tier did for one lookup. */
export const IDEMPOTENCY_CACHE_RESULTS = ['hit', 'miss', 'fallthrough', 'error'] as const;
/** One of {@link IDEMPOTENCY_CACHE_RESULTS}. */
export type IdempotencyCacheResult = (typeof IDEMPOTENCY_CACHE_RESULTS)[number];

/** `table` label of housekeeping_deleted_total, one per purged table. */
export const HOUSEKEEPING_TABLES = ['idempotencyRecords', 'outbox', 'inbox'] as const;
/** One of {@link HOUSEKEEPING_TABLES}. */
export type HousekeepingTable = (typeof HOUSEKEEPING_TABLES)[number];

/** The labels each labelled metric carries, with their values from the lists above. */
export interface MetricLabels {
  idempotency_key_total: { outcome: IdempotencyOutcome };
  retry_attempt_total: { attempt: AttemptLabel };
  http_request_outcome: { class: OutcomeClass };
  idempotency_cache_total: { result: IdempotencyCacheResult };
  housekeeping_deleted_total: { table: HousekeepingTable };
}

/** The labels of metric `N`: its entry in {@link MetricLabels}, or none. */
export type LabelsOf<N extends MetricName> = N extends keyof MetricLabels
  ? MetricLabels[N]
  : Record<string, never>;
