import { describe, expect, it } from 'vitest';
import {
  isRetryableStatus,
  parseRetryAfterMs,
  retryDelay,
  serverNowMs,
} from '../../../client/retry-policy.ts';

describe('Retry-After', () => {
  const now = Date.parse('2015-10-21T07:28:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfterMs('2', now)).toBe(2_000);
    expect(parseRetryAfterMs(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfterMs('0', now)).toBe(0);
  });

  it('reads an HTTP-date as the time left until it, in all three RFC 9110 forms', () => {
    expect(parseRetryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfterMs('Wednesday, 21-Oct-15 07:28:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfterMs('Wed Oct 21 07:28:05 2015', now)).toBe(5_000);
  });

  it('treats a date in the past as "now"', () => {
    expect(parseRetryAfterMs('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
  });

  it('ignores values that are neither, rather than guessing', () => {
    for (const value of ['', '-1', '1.5', 'soon', '2 s', 'Wed, 21 Oct 2015', undefined, null]) {
      expect(parseRetryAfterMs(value, now), String(value)).toBeUndefined();
    }
  });

  it('measures an HTTP-date against the server Date header when there is one', () => {
    const serverNow = serverNowMs('Wed, 21 Oct 2015 07:28:00 GMT', now + 3_600_000);
    expect(parseRetryAfterMs('Wed, 21 Oct 2015 07:28:03 GMT', serverNow)).toBe(3_000);
    expect(serverNowMs('not a date', 42)).toBe(42);
    expect(serverNowMs(null, 42)).toBe(42);
  });

  it('is the floor of the delay, with full jitter on top over at least a Retry-After-wide window', () => {
    const delay = (retryAfterMs: number | undefined, draw: number, remainingMs = 30_000) =>
      retryDelay({
        retry: 0,
        baseDelayMs: 100,
        capDelayMs: 5_000,
        retryAfterMs,
        remainingMs,
        random: () => draw,
      });
    expect(delay(2_000, 0)).toEqual({ delayMs: 2_000, retryAfterMs: 2_000, jitterMs: 0 });
    expect(delay(2_000, 0.5)).toEqual({ delayMs: 3_000, retryAfterMs: 2_000, jitterMs: 1_000 });
    expect(delay(2_000, 0.999_999).delayMs).toBe(3_999);
    // Bounded by the cap and by the deadline.
    expect(delay(9_000, 0.999_999).jitterMs).toBe(4_999);
    expect(delay(2_000, 0.999_999, 2_500).delayMs).toBeLessThan(2_500);
    expect(delay(undefined, 0.5)).toEqual({ delayMs: 50, jitterMs: 50 });
  });
});

describe('retryable statuses', () => {
  it.each([408, 409, 429, 500, 502, 503, 504])('retries %i', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });

  it.each([200, 201, 400, 401, 403, 404, 413, 415, 422, 501])('does not retry %i', (status) => {
    expect(isRetryableStatus(status)).toBe(false);
  });
});
