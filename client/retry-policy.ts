/**
 * The retry policy as pure functions: which answers are worth retrying, how long to wait
 * (full jitter, on top of Retry-After when there is one), and how to read Retry-After.
 */

import { fullJitterDelayMs, jitterBelowMs } from '../primitives/full-jitter.ts';

/**
 * Statuses retried with the same Idempotency-Key and body: the request may not have been
 * processed (408, 429, 502, 503, 504), is still being processed (409 in flight), or failed in
 * a way the key makes safe to repeat (500). Everything else is final, notably 400, 401, 403,
 * 404, 413, 415 and 422 (the key was used with a different body): repeating cannot change
 * the answer.
 */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 409, 429, 500, 502, 503, 504]);

/** Whether `status` is one of {@link RETRYABLE_STATUSES}. */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** The wait before the next attempt, in its two parts (the transcript shows both). */
export interface RetryDelay {
  delayMs: number;
  /** What the server asked for (Retry-After), if anything: the floor of the delay. */
  retryAfterMs?: number;
  /** The random part, on top of the floor. */
  jitterMs: number;
}

/**
 * The delay before retry number `retry` (0 for the first). Without Retry-After: full jitter.
 * With it: at least Retry-After, plus full jitter on top, over a window of at least
 * Retry-After itself (and at least the backoff's), bounded by the cap and by what is left
 * before the deadline. Waiting exactly Retry-After would send every client the server
 * answered at the same moment back at the same moment (1000 ms later, in step); the window
 * spreads them over the next Retry-After seconds.
 */
export function retryDelay(options: {
  retry: number;
  baseDelayMs: number;
  capDelayMs: number;
  retryAfterMs: number | undefined;
  /** Milliseconds left before the caller's deadline. */
  remainingMs: number;
  random?: () => number;
}): RetryDelay {
  const { retry, baseDelayMs, capDelayMs, retryAfterMs, remainingMs } = options;
  const random = options.random ?? Math.random;
  if (retryAfterMs === undefined) {
    const jitterMs = fullJitterDelayMs(retry, baseDelayMs, capDelayMs, random);
    return { delayMs: jitterMs, jitterMs };
  }
  const backoffCeiling = baseDelayMs * 2 ** Math.max(0, retry);
  const window = Math.max(
    0,
    Math.min(capDelayMs, Math.max(backoffCeiling, retryAfterMs), remainingMs - retryAfterMs - 1),
  );
  const jitterMs = jitterBelowMs(window, random);
  return { delayMs: retryAfterMs + jitterMs, retryAfterMs, jitterMs };
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d{2}:\\d{2}:\\d{2}';
/** The three HTTP-date forms of RFC 9110 §5.6.7; the last (asctime) carries no zone. */
const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT$`);
const RFC_850 = new RegExp(`^${LONG_DAY}, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`);

/**
 * Milliseconds a Retry-After value asks the client to wait, or `undefined` if there is no
 * usable value. Accepts delta-seconds (`"120"`) and HTTP-dates (`"Wed, 21 Oct 2015 07:28:00
 * GMT"`, the obsolete RFC 850 and asctime forms too), read strictly: `Date.parse` alone would
 * take `"1.5"` for a date in 2001. A date in the past means "now" (0).
 *
 * @param nowMs wall-clock time the date is measured from: preferably the response's own
 *   `Date` header (see {@link serverNowMs}), so a skewed client clock does not matter.
 */
export function parseRetryAfterMs(
  value: string | null | undefined,
  nowMs: number,
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  let date: number;
  if (IMF_FIXDATE.test(text) || RFC_850.test(text)) date = Date.parse(text);
  else if (ASCTIME.test(text)) date = Date.parse(`${text} GMT`);
  else return undefined;
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil(date - nowMs));
}

/** The server's clock from its `Date` header when that is a valid HTTP-date, else `fallbackMs`. */
export function serverNowMs(dateHeader: string | null | undefined, fallbackMs: number): number {
  if (!dateHeader) return fallbackMs;
  const text = dateHeader.trim();
  if (!IMF_FIXDATE.test(text) && !RFC_850.test(text)) return fallbackMs;
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? fallbackMs : parsed;
}
