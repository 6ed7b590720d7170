import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fullJitterDelayMs } from '../../../primitives/full-jitter.ts';

describe('full-jitter backoff', () => {
  it('spans [0, base * 2^retry) below the cap', () => {
    expect(fullJitterDelayMs(0, 100, 10_000, () => 0)).toBe(0);
    expect(fullJitterDelayMs(0, 100, 10_000, () => 0.5)).toBe(50);
    expect(fullJitterDelayMs(0, 100, 10_000, () => 0.999_999)).toBe(99);
    expect(fullJitterDelayMs(1, 100, 10_000, () => 0.5)).toBe(100);
    expect(fullJitterDelayMs(3, 100, 10_000, () => 0.5)).toBe(400);
    expect(fullJitterDelayMs(3, 100, 10_000, () => 0.999_999)).toBe(799);
  });

  it('never exceeds the cap, however many retries', () => {
    expect(fullJitterDelayMs(10, 100, 1_000, () => 0.999_999)).toBe(999);
    expect(fullJitterDelayMs(5_000, 100, 1_000, () => 0.5)).toBe(500);
  });

  it('keeps a misbehaving random() inside the window', () => {
    expect(fullJitterDelayMs(0, 100, 1_000, () => 1)).toBeLessThan(100);
    expect(fullJitterDelayMs(0, 100, 1_000, () => -3)).toBe(0);
  });

  it('holds the bounds for any retry, base, cap and random draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 120_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, base, cap, draw) => {
          const delay = fullJitterDelayMs(retry, base, cap, () => draw);
          const window = Math.min(cap, base * 2 ** retry);
          return Number.isInteger(delay) && delay >= 0 && delay < Math.max(1, window);
        },
      ),
    );
  });
});
