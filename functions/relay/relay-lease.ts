/** The lease's row in the database: acquire or renew, and release. */
export interface LeasePorts {
  /** Takes or renews the lease; the fencing token, or undefined when another holder has it. */
  tryAcquire(): Promise<string | undefined>;
  release(token: string): Promise<void>;
}

/** How long the lease lasts and how early it is renewed and distrusted. */
export interface LeaseTiming {
  /** How long one acquisition or renewal lasts in the database. */
  ttlMs: number;
  /** Renew once the last renewal is this old. */
  renewEveryMs: number;
  /**
   * Stop counting on the lease this long before it lapses (by the local clock, from the
   * moment the renewal was sent): covers clock drift and a late renewal answer.
   */
  safetyMs: number;
  now?: () => number;
}

/**
 * The relay's view of the single-active-relay lease. `holds()` is answered from the local
 * clock, so the relay can check it before every send without a database round trip; the
 * lease is only trusted until `ttl - safety` after the renewal was *sent*, so by the time
 * another relay may take it over this one has already stopped sending. Marks in the database
 * are fenced by the token as well (see markPublished), for a relay paused beyond even that.
 */
export class RelayLease {
  readonly #ports: LeasePorts;
  readonly #timing: Required<LeaseTiming>;
  #token: string | undefined;
  #validUntil = 0;
  #renewedAt = Number.NEGATIVE_INFINITY;
  #renewing: Promise<boolean> | undefined;

  constructor(ports: LeasePorts, timing: LeaseTiming) {
    this.#ports = ports;
    this.#timing = { now: () => performance.now(), ...timing };
  }

  /** The fencing token of the lease held now, if any. */
  get token(): string | undefined {
    return this.holds() ? this.#token : undefined;
  }

  holds(): boolean {
    return this.#token !== undefined && this.#timing.now() < this.#validUntil;
  }

  /** Holds the lease after this call if it can: renews when due, takes it when free. */
  async ensureHeld(): Promise<boolean> {
    if (this.holds() && this.#timing.now() - this.#renewedAt < this.#timing.renewEveryMs) {
      return true;
    }
    // One renewal at a time, however many senders ask.
    this.#renewing ??= this.#renew().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  async release(): Promise<void> {
    const token = this.#token;
    this.#token = undefined;
    if (token !== undefined) await this.#ports.release(token);
  }

  async #renew(): Promise<boolean> {
    const sentAt = this.#timing.now();
    try {
      const token = await this.#ports.tryAcquire();
      if (token === undefined) {
        this.#token = undefined;
        return false;
      }
      this.#token = token;
      this.#renewedAt = sentAt;
      this.#validUntil = sentAt + this.#timing.ttlMs - this.#timing.safetyMs;
      return true;
    } catch {
      // The database is unreachable: the lease is trusted until it would have lapsed anyway.
      return this.holds();
    }
  }
}
