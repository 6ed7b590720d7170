/**
 * The charge API client: retries with one Idempotency-Key per logical charge, full jitter,
 * Retry-After as a floor, a deadline and a shared retry budget. See client/README.md.
 */

// Shared with the functions: the client's own copies would drift (see primitives/).
export { type Clock, monotonicClock } from '../primitives/clock.ts';
export { fullJitterDelayMs } from '../primitives/full-jitter.ts';
export { TokenBucket, type TokenBucketOptions } from '../primitives/token-bucket.ts';
export {
  ChargeClient,
  type ChargeClientOptions,
  type CreateChargeOptions,
} from './charge-client.ts';
export {
  ChargeClientError,
  ChargeNetworkError,
  DeadlineExceededError,
  RetryBudgetExhaustedError,
} from './errors.ts';
export {
  type AttemptLabel,
  ClientMetrics,
  type ClientMetricsSnapshot,
  type HistogramSnapshot,
  type OutcomeClass,
  RETRY_DELAY_BUCKETS_SECONDS,
} from './metrics.ts';
export {
  DEFAULT_RETRY_BUDGET,
  RetryBudget,
  type RetryBudgetOptions,
  type RetryCause,
} from './retry-budget.ts';
export {
  type AttemptEnd,
  type DecisionInput,
  decideAfterAttempt,
  type RetryDecision,
} from './retry-decision.ts';
export {
  isRetryableStatus,
  parseRetryAfterMs,
  RETRYABLE_STATUSES,
  type RetryDelay,
  retryDelay,
} from './retry-policy.ts';
/** The transcript: one JSON line per attempt. */
export type { AttemptRecord, TranscriptSink } from './transcript.ts';
export {
  type Charge,
  type ChargeInput,
  type ChargeResult,
  isProblem,
  type Problem,
} from './types.ts';
