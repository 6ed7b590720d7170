/**
 * Full-jitter exponential backoff ("Exponential Backoff And Jitter", AWS Architecture Blog),
 * the one formula both the retrying client and the relay's EventBridge publisher wait with.
 */

/**
 * A uniformly random delay in [0, min(cap, base · 2^retry)), where `retry` is 0 for the first
 * retry. Spreading retries over the whole window is what keeps callers that failed together
 * from retrying together.
 *
 * @param retry 0 for the first retry, 1 for the second, …
 * @param random a number in [0, 1); injectable so tests are deterministic.
 */
export function fullJitterDelayMs(
  retry: number,
  baseDelayMs: number,
  capDelayMs: number,
  random: () => number = Math.random,
): number {
  return jitterBelowMs(Math.min(capDelayMs, baseDelayMs * 2 ** Math.max(0, retry)), random);
}

/**
 * A uniformly random whole number of milliseconds in [0, ceilingMs) (0 when the ceiling is
 * 0): the jitter itself, for callers whose window is not a doubling backoff (a Retry-After
 * spread over its own length).
 */
export function jitterBelowMs(ceilingMs: number, random: () => number = Math.random): number {
  // Clamp a misbehaving injected random() into [0, 1) so the bounds always hold.
  const unit = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.floor(unit * Math.max(0, ceilingMs));
}
