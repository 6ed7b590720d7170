import type { Clock } from '../primitives/clock.ts';
import { TokenBucket } from '../primitives/token-bucket.ts';

/** Why the previous attempt failed; a timeout costs more, as in the AWS SDK. */
export type RetryCause = 'error' | 'timeout';

/** Overrides of {@link DEFAULT_RETRY_BUDGET}, and the clock. */
export interface RetryBudgetOptions {
  /** Tokens in a full budget (AWS SDK: 500). */
  capacity?: number;
  /** Tokens a retry after an error response or a network error costs (AWS SDK: 5). */
  retryCost?: number;
  /** Tokens a retry after a per-attempt timeout costs (AWS SDK: 10). */
  timeoutRetryCost?: number;
  /** Tokens a call that succeeded on its first attempt puts back (AWS SDK: 1). */
  successIncrement?: number;
  clock?: Clock;
}

/** The AWS SDK "standard" retry quota's values, which a {@link RetryBudget} uses by default. */
export const DEFAULT_RETRY_BUDGET = {
  capacity: 500,
  retryCost: 5,
  timeoutRetryCost: 10,
  successIncrement: 1,
} as const;

/**
 * A retry budget shared by every call from one call site (one budget per ChargeClient use,
 * not per call), modelled on the AWS SDK "standard" retry quota:
 *
 * - first attempts are free; every retry must first pay `retryCost` tokens
 *   (`timeoutRetryCost` if the failed attempt timed out);
 * - a call that succeeds on its first attempt puts back `successIncrement` tokens;
 * - a call that succeeds after retrying refunds the cost of its LAST retry (so a recovered
 *   dependency refills the budget quickly), as the SDK's `releaseRetryTokens` does;
 * - nothing refills with time, and the bucket never holds more than `capacity`.
 *
 * While a dependency is down, no call succeeds, so at most `capacity / retryCost` retries
 * are made in total, however many calls are started: the storm is bounded, and every
 * further failure is reported at once instead of being retried.
 */
export class RetryBudget {
  readonly retryCost: number;
  readonly timeoutRetryCost: number;
  readonly successIncrement: number;
  private readonly bucket: TokenBucket;

  constructor(options: RetryBudgetOptions = {}) {
    this.retryCost = options.retryCost ?? DEFAULT_RETRY_BUDGET.retryCost;
    this.timeoutRetryCost = options.timeoutRetryCost ?? DEFAULT_RETRY_BUDGET.timeoutRetryCost;
    this.successIncrement = options.successIncrement ?? DEFAULT_RETRY_BUDGET.successIncrement;
    this.bucket = new TokenBucket({
      capacity: options.capacity ?? DEFAULT_RETRY_BUDGET.capacity,
      refillPerSecond: 0,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }

  get capacity(): number {
    return this.bucket.capacity;
  }

  /** Tokens left. */
  get available(): number {
    return this.bucket.available;
  }

  /** What a retry after a failure of this kind costs. */
  costOf(cause: RetryCause): number {
    return cause === 'timeout' ? this.timeoutRetryCost : this.retryCost;
  }

  /**
   * Pays for one retry. Returns the tokens paid (keep them for {@link recordSuccess}), or
   * `undefined` when the budget cannot pay: the caller must then give up instead of retrying.
   */
  tryAcquireRetry(cause: RetryCause): number | undefined {
    const cost = this.costOf(cause);
    return this.bucket.tryTake(cost) ? cost : undefined;
  }

  /**
   * A call succeeded. `lastRetryCost` is what its last retry paid (0 or omitted when the
   * first attempt succeeded): that is refunded; a first-attempt success adds `successIncrement`.
   */
  recordSuccess(lastRetryCost = 0): void {
    this.bucket.give(lastRetryCost > 0 ? lastRetryCost : this.successIncrement);
  }
}
