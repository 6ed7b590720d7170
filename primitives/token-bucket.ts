import { type Clock, monotonicClock } from './clock.ts';

/** How a {@link TokenBucket} is sized and refilled. */
export interface TokenBucketOptions {
  /** Most tokens the bucket holds; also the largest single take that can ever succeed. */
  capacity: number;
  /** Tokens added per second of clock time. 0 (the default): only {@link TokenBucket.give} refills. */
  refillPerSecond?: number;
  /** Tokens at construction; defaults to `capacity` (a full bucket). */
  initialTokens?: number;
  /** Defaults to {@link monotonicClock}. */
  clock?: Clock;
}

/**
 * A token bucket: `capacity` tokens, refilled continuously at `refillPerSecond` and/or
 * explicitly with {@link give}. Dependency-free and synchronous, so it can be shared by
 * everything in one process that draws on the same allowance:
 *
 * - the client's retry budget (client/retry-budget.ts: no time refill; successes put tokens
 *   back), and
 * - a rate limiter (the outbox relay's publish rate during catch-up): `refillPerSecond` = the
 *   rate, `capacity` = the allowed burst, and {@link msUntilAvailable} says how long to wait
 *   for the next batch.
 *
 * Fractional tokens are allowed (refill is continuous).
 */
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  private readonly clock: Clock;
  private tokens: number;
  private refilledAt: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.capacity > 0)) throw new RangeError('TokenBucket: capacity must be > 0');
    const refillPerSecond = options.refillPerSecond ?? 0;
    if (!(refillPerSecond >= 0)) throw new RangeError('TokenBucket: refillPerSecond must be >= 0');
    this.capacity = options.capacity;
    this.refillPerSecond = refillPerSecond;
    this.clock = options.clock ?? monotonicClock;
    this.tokens = Math.min(this.capacity, Math.max(0, options.initialTokens ?? this.capacity));
    this.refilledAt = this.clock();
  }

  /** Tokens available now. */
  get available(): number {
    this.refill();
    return this.tokens;
  }

  /** Takes `count` tokens if they are all available (all or nothing); says whether it did. */
  tryTake(count = 1): boolean {
    this.refill();
    if (count > this.tokens) return false;
    this.tokens -= count;
    return true;
  }

  /** Puts `count` tokens back (a refund or a reward); the bucket never exceeds capacity. */
  give(count: number): void {
    this.refill();
    this.tokens = Math.min(this.capacity, this.tokens + Math.max(0, count));
  }

  /**
   * Milliseconds until `count` tokens will be available: 0 if they are now, Infinity if they
   * never will be (more than capacity, or no time refill).
   */
  msUntilAvailable(count = 1): number {
    this.refill();
    if (count <= this.tokens) return 0;
    if (count > this.capacity || this.refillPerSecond === 0) return Number.POSITIVE_INFINITY;
    return ((count - this.tokens) / this.refillPerSecond) * 1000;
  }

  private refill(): void {
    const now = this.clock();
    const elapsedMs = Math.max(0, now - this.refilledAt);
    this.refilledAt = now;
    if (this.refillPerSecond > 0 && elapsedMs > 0) {
      this.tokens = Math.min(
        this.capacity,
        this.tokens + (elapsedMs / 1000) * this.refillPerSecond,
      );
    }
  }
}
