/**
 * The client's retry decision as one pure function: given how an attempt ended, return the
 * answer, throw, or retry after how long. ChargeClient.createCharge does the I/O around it
 * (sending, sleeping, the shared retry budget, metrics, the transcript).
 */
import type { RetryCause } from './retry-budget.ts';
import { isRetryableStatus } from './retry-policy.ts';

/** How one attempt ended. */
export type AttemptEnd =
  | { kind: 'answer'; status: number }
  | { kind: 'no-answer'; timedOut: boolean };

/** What the client does next, and why (the reason is the transcript's `reason`). */
export type RetryDecision =
  | { action: 'return'; reason: 'success' | 'not retryable' | 'attempts exhausted' }
  | { action: 'throw'; reason: 'attempts exhausted' }
  | { action: 'throw'; reason: 'deadline'; next?: { delayMs: number; remainingMs: number } }
  | { action: 'retry'; nextDelayMs: number; cause: RetryCause };

/** Everything the decision depends on. */
export interface DecisionInput {
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  outcome: AttemptEnd;
  /** The attempt's timeout was cut short by the call's deadline. */
  deadlineBound: boolean;
  /** The wait before a retry; called only when a retry is wanted (it may draw a random number). */
  nextDelayMs: () => number;
  /** Milliseconds left before the call's deadline. */
  remainingMs: () => number;
}

/**
 * - An answer that is not retryable (2xx, 4xx but 408/409/429) is returned; so is a retryable
 *   one when the attempts are used up.
 * - No answer: a timeout the deadline imposed is a deadline failure; with the attempts used
 *   up it is a failure with no answer. Both throw: the outcome is unknown.
 * - Otherwise a retry is wanted, unless its delay would end at or after the deadline: then the
 *   call fails now instead of sleeping into the deadline.
 */
export function decideAfterAttempt(facts: DecisionInput): RetryDecision {
  const { attempt, maxAttempts, outcome } = facts;
  if (outcome.kind === 'answer') {
    const ok = outcome.status >= 200 && outcome.status < 300;
    if (!isRetryableStatus(outcome.status)) {
      return { action: 'return', reason: ok ? 'success' : 'not retryable' };
    }
    if (attempt >= maxAttempts) return { action: 'return', reason: 'attempts exhausted' };
  } else {
    if (outcome.timedOut && facts.deadlineBound) return { action: 'throw', reason: 'deadline' };
    if (attempt >= maxAttempts) return { action: 'throw', reason: 'attempts exhausted' };
  }
  const nextDelayMs = facts.nextDelayMs();
  const remainingMs = facts.remainingMs();
  if (nextDelayMs >= remainingMs) {
    return { action: 'throw', reason: 'deadline', next: { delayMs: nextDelayMs, remainingMs } };
  }
  const cause: RetryCause = outcome.kind === 'no-answer' && outcome.timedOut ? 'timeout' : 'error';
  return { action: 'retry', nextDelayMs, cause };
}
