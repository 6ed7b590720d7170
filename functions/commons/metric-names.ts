/**
 * The metric contract between the handlers (which emit EMF through Powertools) and the
 * dashboard and alarms in lib/ (which read CloudWatch). One place, imported by both, so a
 * renamed metric breaks the build instead of silently flat-lining a graph.
 */

/** EMF namespace; the functions receive it as POWERTOOLS_METRICS_NAMESPACE. */
export const METRIC_NAMESPACE = 'EffectivelyOncePayments';

/** Powertools adds `service=<this>` to every metric; the functions get POWERTOOLS_SERVICE_NAME. */
export const SERVICE_NAME = 'payments';

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
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** Label values, emitted as EMF dimensions next to `service`. */
export const IDEMPOTENCY_OUTCOMES = ['new', 'replay', 'in_flight', 'mismatch'] as const;
export const RETRY_ATTEMPTS = ['1', '2', '3', '4+'] as const;
/**
 * `class` of http_request_outcome as the charge function emits it. Timeouts are not among
 * them: a function that runs out of time never answers, so the dashboard takes them from API
 * Gateway's own metrics.
 */
export const SERVER_OUTCOME_CLASSES = ['2xx', '4xx', '5xx'] as const;
