import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../../client/retry-budget.ts';
import { TokenBucket } from '../../../primitives/token-bucket.ts';

function fakeClock(start = 1_000) {
  let now = start;
  return {
    clock: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('TokenBucket', () => {
  it('starts full and takes all or nothing', () => {
    const bucket = new TokenBucket({ capacity: 10 });
    expect(bucket.available).toBe(10);
    expect(bucket.tryTake(7)).toBe(true);
    expect(bucket.tryTake(4)).toBe(false);
    expect(bucket.available).toBe(3);
    expect(bucket.tryTake(3)).toBe(true);
    expect(bucket.tryTake()).toBe(false);
  });

  it('refills with clock time at refillPerSecond, up to capacity', () => {
    const time = fakeClock();
    const bucket = new TokenBucket({
      capacity: 5,
      refillPerSecond: 2,
      initialTokens: 0,
      clock: time.clock,
    });
    expect(bucket.tryTake()).toBe(false);
    time.advance(499);
    expect(bucket.tryTake()).toBe(false);
    time.advance(1);
    expect(bucket.tryTake()).toBe(true);
    time.advance(60_000);
    expect(bucket.available).toBe(5);
  });

  it('says how long until tokens are there (a rate limiter waits that long)', () => {
    const time = fakeClock();
    const bucket = new TokenBucket({ capacity: 100, refillPerSecond: 50, clock: time.clock });
    expect(bucket.tryTake(100)).toBe(true);
    expect(bucket.msUntilAvailable(10)).toBe(200);
    time.advance(200);
    expect(bucket.msUntilAvailable(10)).toBe(0);
    expect(bucket.msUntilAvailable(101)).toBe(Number.POSITIVE_INFINITY);
  });

  it('never refills by time when refillPerSecond is 0, only by give()', () => {
    const time = fakeClock();
    const bucket = new TokenBucket({ capacity: 10, initialTokens: 0, clock: time.clock });
    time.advance(3_600_000);
    expect(bucket.available).toBe(0);
    expect(bucket.msUntilAvailable(1)).toBe(Number.POSITIVE_INFINITY);
    bucket.give(4);
    expect(bucket.available).toBe(4);
    bucket.give(100);
    expect(bucket.available).toBe(10);
  });

  it('does not mint tokens when the clock goes backwards', () => {
    const time = fakeClock();
    const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 1, clock: time.clock });
    bucket.tryTake(10);
    time.advance(-5_000);
    expect(bucket.available).toBe(0);
  });

  it('rejects a bucket that could never hold a token', () => {
    expect(() => new TokenBucket({ capacity: 0 })).toThrow(RangeError);
    expect(() => new TokenBucket({ capacity: 1, refillPerSecond: -1 })).toThrow(RangeError);
  });
});

describe('RetryBudget', () => {
  it('defaults to the AWS SDK standard quota: 500 tokens, 5 a retry, 10 after a timeout', () => {
    const budget = new RetryBudget();
    expect(budget.capacity).toBe(500);
    expect(budget.tryAcquireRetry('error')).toBe(5);
    expect(budget.tryAcquireRetry('timeout')).toBe(10);
    expect(budget.available).toBe(485);
  });

  it('allows capacity / cost retries while nothing succeeds, then refuses', () => {
    const budget = new RetryBudget();
    let granted = 0;
    for (let i = 0; i < 1_000; i += 1) {
      if (budget.tryAcquireRetry('error') !== undefined) granted += 1;
    }
    expect(granted).toBe(100);
    expect(budget.available).toBe(0);
  });

  it('does not grant a timeout retry from fewer than 10 tokens', () => {
    const budget = new RetryBudget({ capacity: 14 });
    expect(budget.tryAcquireRetry('error')).toBe(5);
    expect(budget.tryAcquireRetry('timeout')).toBeUndefined();
    expect(budget.tryAcquireRetry('error')).toBe(5);
    expect(budget.available).toBe(4);
  });

  it('adds 1 for a first-attempt success and refunds the last retry cost after a retried one', () => {
    const budget = new RetryBudget({ capacity: 100 });
    for (let i = 0; i < 10; i += 1) budget.tryAcquireRetry('error');
    expect(budget.available).toBe(50);
    budget.recordSuccess();
    expect(budget.available).toBe(51);
    const paid = budget.tryAcquireRetry('timeout');
    expect(budget.available).toBe(41);
    budget.recordSuccess(paid);
    expect(budget.available).toBe(51);
  });

  it('never holds more than its capacity', () => {
    const budget = new RetryBudget({ capacity: 20 });
    for (let i = 0; i < 50; i += 1) budget.recordSuccess();
    budget.recordSuccess(10);
    expect(budget.available).toBe(20);
  });
});
