import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AttemptEnd,
  type DecisionInput,
  decideAfterAttempt,
} from '../../../client/retry-decision.ts';

function decide(outcome: AttemptEnd, overrides: Partial<DecisionInput> = {}) {
  return decideAfterAttempt({
    attempt: 1,
    maxAttempts: 3,
    outcome,
    deadlineBound: false,
    nextDelayMs: () => 100,
    remainingMs: () => 10_000,
    ...overrides,
  });
}
const answer = (status: number): AttemptEnd => ({ kind: 'answer', status });
const noAnswer = (timedOut: boolean): AttemptEnd => ({ kind: 'no-answer', timedOut });

describe('the retry decision', () => {
  it('returns a 2xx as a success and a final status as it is', () => {
    expect(decide(answer(201))).toEqual({ action: 'return', reason: 'success' });
    for (const status of [400, 401, 403, 404, 413, 415, 422]) {
      expect(decide(answer(status)), String(status)).toEqual({
        action: 'return',
        reason: 'not retryable',
      });
    }
  });

  it('retries a retryable status after the policy delay, as an error', () => {
    for (const status of [408, 409, 429, 500, 502, 503, 504]) {
      expect(decide(answer(status)), String(status)).toEqual({
        action: 'retry',
        nextDelayMs: 100,
        cause: 'error',
      });
    }
  });

  it('returns the last retryable answer once the attempts are used up', () => {
    expect(decide(answer(503), { attempt: 3 })).toEqual({
      action: 'return',
      reason: 'attempts exhausted',
    });
  });

  it('retries a lost answer, a timeout costing as a timeout, and throws when attempts are used up', () => {
    expect(decide(noAnswer(false))).toEqual({ action: 'retry', nextDelayMs: 100, cause: 'error' });
    expect(decide(noAnswer(true))).toEqual({ action: 'retry', nextDelayMs: 100, cause: 'timeout' });
    expect(decide(noAnswer(false), { attempt: 3 })).toEqual({
      action: 'throw',
      reason: 'attempts exhausted',
    });
  });

  it('throws at the deadline: a timeout the deadline imposed, or a delay that would pass it', () => {
    expect(decide(noAnswer(true), { deadlineBound: true })).toEqual({
      action: 'throw',
      reason: 'deadline',
    });
    expect(decide(answer(503), { nextDelayMs: () => 500, remainingMs: () => 500 })).toEqual({
      action: 'throw',
      reason: 'deadline',
      next: { delayMs: 500, remainingMs: 500 },
    });
  });

  it('draws a delay only when it retries', () => {
    let draws = 0;
    const nextDelayMs = () => {
      draws += 1;
      return 100;
    };
    decide(answer(201), { nextDelayMs });
    decide(answer(503), { attempt: 3, nextDelayMs });
    decide(noAnswer(true), { deadlineBound: true, nextDelayMs });
    expect(draws).toBe(0);
    decide(answer(503), { nextDelayMs });
    expect(draws).toBe(1);
  });

  it('never retries past maxAttempts nor sleeps into the deadline', () => {
    const outcome = fc.oneof(
      fc.constantFrom(200, 201, 400, 404, 408, 409, 422, 429, 500, 502, 503, 504).map(answer),
      fc.boolean().map(noAnswer),
    );
    fc.assert(
      fc.property(
        outcome,
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.nat(10_000),
        fc.nat(10_000),
        fc.boolean(),
        (end, attempt, maxAttempts, delay, remaining, deadlineBound) => {
          const decision = decide(end, {
            attempt,
            maxAttempts,
            deadlineBound,
            nextDelayMs: () => delay,
            remainingMs: () => remaining,
          });
          if (decision.action !== 'retry') return true;
          return attempt < maxAttempts && decision.nextDelayMs < remaining;
        },
      ),
    );
  });
});
