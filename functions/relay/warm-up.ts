/**
 * Slow start for catch-up publishing: over the first `warmUpSeconds` after a (re)start the
 * allowed rate climbs linearly from half the limit to the full limit (the token bucket still
 * caps the rate throughout). A consumer that was idle during a broker outage starts cold:
 * new connections, unoptimised code. Given the full rate at once it falls behind in the
 * first second and then catches up above the limit, which is the spike the limit is for.
 */
export class WarmUp {
  readonly #ratePerSecond: number;
  readonly #warmUpSeconds: number;
  #startedAt: number;
  readonly #now: () => number;
  #granted = 0;

  constructor(
    ratePerSecond: number,
    warmUpSeconds: number,
    now: () => number = () => performance.now(),
  ) {
    this.#ratePerSecond = ratePerSecond;
    this.#warmUpSeconds = warmUpSeconds;
    this.#now = now;
    this.#startedAt = now();
  }

  /** Milliseconds to wait before `count` more events fit the warm-up curve; 0 if they do now. */
  msUntilAllowed(count: number): number {
    const needed = this.#granted + count;
    if (needed <= this.#allowedBy(this.#elapsedSeconds())) return 0;
    // Binary search the curve for the first moment it allows `needed` (monotonic, cheap).
    let low = this.#elapsedSeconds();
    let high = low + needed / (this.#ratePerSecond / 2);
    for (let i = 0; i < 30; i++) {
      const middle = (low + high) / 2;
      if (this.#allowedBy(middle) >= needed) high = middle;
      else low = middle;
    }
    return Math.max(1, (high - this.#elapsedSeconds()) * 1000);
  }

  /**
   * Starts the curve again from half the rate: the relay calls this when a backlog appears
   * after a quiet or failing spell, which is when the consumer is cold.
   */
  restart(): void {
    this.#startedAt = this.#now();
    this.#granted = 0;
  }

  /** Records that `count` events were let through. */
  grant(count: number): void {
    this.#granted += count;
  }

  #elapsedSeconds(): number {
    return (this.#now() - this.#startedAt) / 1000;
  }

  /** Events allowed by `t` seconds: the integral of the ramped rate, plus one batch of slack. */
  #allowedBy(t: number): number {
    const w = this.#warmUpSeconds;
    const r = this.#ratePerSecond;
    const integral = t < w ? r * (0.5 * t + (0.25 * t * t) / w) : r * (t - 0.25 * w);
    return integral + 10;
  }
}
