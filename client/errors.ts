/**
 * Thrown when a charge ended WITHOUT a final answer from the server: the outcome is unknown
 * (the charge may or may not exist). The remedy is always the same: retry later with the
 * same `idempotencyKey` (and the same body), which either replays the charge or makes it.
 *
 * Any answer the client stops at (2xx, a non-retryable 4xx, or the last retryable answer
 * when the attempts are used up) is returned as a result, never thrown.
 */
export abstract class ChargeClientError extends Error {
  /** The key to retry with; reusing it can never charge twice. */
  readonly idempotencyKey: string;
  /** Attempts actually sent. */
  readonly attempts: number;
  /** HTTP status of the last answer seen, if any attempt got one. */
  readonly lastStatus: number | undefined;

  constructor(
    message: string,
    details: { idempotencyKey: string; attempts: number; lastStatus?: number; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.idempotencyKey = details.idempotencyKey;
    this.attempts = details.attempts;
    this.lastStatus = details.lastStatus;
  }
}

/** A retry was due but the shared {@link RetryBudget} could not pay for it: failing fast. */
export class RetryBudgetExhaustedError extends ChargeClientError {}

/** The next attempt could not start (or finish) before the overall deadline: failing fast. */
export class DeadlineExceededError extends ChargeClientError {}

/**
 * The last attempt got no answer: connection refused or reset, the connection closed before
 * the response (a lost response), or the per-attempt timeout (`timedOut`).
 */
export class ChargeNetworkError extends ChargeClientError {
  readonly timedOut: boolean;

  constructor(
    message: string,
    details: {
      idempotencyKey: string;
      attempts: number;
      lastStatus?: number;
      cause?: unknown;
      timedOut: boolean;
    },
  ) {
    super(message, details);
    this.timedOut = details.timedOut;
  }
}
