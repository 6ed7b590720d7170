import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyRecordStatus,
} from '@aws-lambda-powertools/idempotency';
import { IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import CircuitBreaker from 'opossum';
import {
  PostgresPersistenceLayer,
  type PostgresPersistenceLayerOptions,
} from '../postgres-persistence-layer.ts';
import type { IdempotencyCache } from './redis-idempotency-cache.ts';

export interface RedisCachedPersistenceLayerOptions extends PostgresPersistenceLayerOptions {
  cache: IdempotencyCache;
  /** Each Redis command gets this long before the request carries on with Postgres alone. */
  cacheTimeoutMs?: number;
  /** How long the breaker stays open (Redis skipped) before it lets one request try again. */
  breakerResetMs?: number;
  /** Called once per cache lookup with what happened, e.g. to count it as a metric. */
  onCacheResult?: (result: CacheResult) => void;
}

export type CacheResult = 'hit' | 'miss' | 'fallthrough' | 'error';

interface CachedRecord {
  status: 'INPROGRESS' | 'COMPLETED';
  expiresAt: number;
  payloadHash?: string;
  response?: unknown;
}

/** The marker a claim leaves in Redis; a hint only, never trusted over Postgres. */
const IN_PROGRESS_MARKER = JSON.stringify({ status: 'INPROGRESS' });

/**
 * Two tiers: Redis in front, PostgreSQL behind as the authority (Stripe's lesson: a cache
 * alone loses keys and double-charges).
 *
 * - Claim: one `SET NX GET` in Redis. If it returns a completed record, that is the replay,
 *   answered without touching Postgres. Anything else (the key was absent, lost, or marked in
 *   progress) goes on to the authoritative claim in Postgres.
 * - Read: Redis, then Postgres on a miss, refilling Redis with a completed record.
 * - Completion and release: Postgres first (with its ownership check), then Redis.
 * - Redis down or slow: every command has a timeout of a few milliseconds and a circuit
 *   breaker stops calling Redis for a while after repeated failures; requests carry on with
 *   Postgres alone. `onCacheResult` reports each lookup: hit / miss / fallthrough / error.
 *
 * Not Powertools' CachePersistenceLayer: there Redis is the authority (its orphan-lock logic
 * decides ownership), and its completed records omit the payload hash, which would turn
 * every cached replay into a 422 when payload validation is on.
 */
export class RedisCachedPostgresPersistenceLayer extends PostgresPersistenceLayer {
  readonly #cache: IdempotencyCache;
  readonly #breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  readonly #onCacheResult: (result: CacheResult) => void;

  constructor(options: RedisCachedPersistenceLayerOptions) {
    super(options);
    this.#cache = options.cache;
    this.#onCacheResult = options.onCacheResult ?? (() => {});
    this.#breaker = new CircuitBreaker((operation: () => Promise<unknown>) => operation(), {
      timeout: options.cacheTimeoutMs ?? 5,
      resetTimeout: options.breakerResetMs ?? 2_000,
      errorThresholdPercentage: 50,
      volumeThreshold: 5,
      rollingCountTimeout: 5_000,
    });
  }

  protected override async _putRecord(record: IdempotencyRecord): Promise<void> {
    const existing = await this.#tryCache((cache) =>
      cache.setIfAbsentOrGet(record.idempotencyKey, IN_PROGRESS_MARKER, this.expiresAfterSeconds),
    );
    const cached = existing.ok ? parseCached(existing.value) : undefined;
    if (cached?.status === 'COMPLETED') {
      this.#count('hit');
      await this.noteCompletedRecordFound(record.idempotencyKey);
      throw new IdempotencyItemAlreadyExistsError(
        `Idempotency key ${record.idempotencyKey} already completed`,
        toRecord(record.idempotencyKey, cached),
      );
    }
    if (existing.ok) this.#count(existing.value === null ? 'miss' : 'fallthrough');
    try {
      await super._putRecord(record);
    } catch (error) {
      // Postgres knows the key: bring Redis up to date with what it holds.
      if (error instanceof IdempotencyItemAlreadyExistsError && error.existingRecord) {
        await this.#remember(error.existingRecord);
      }
      throw error;
    }
  }

  protected override async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const cachedValue = await this.#tryCache((cache) => cache.get(idempotencyKey));
    const cached = cachedValue.ok ? parseCached(cachedValue.value) : undefined;
    if (cached?.status === 'COMPLETED') {
      this.#count('hit');
      return toRecord(idempotencyKey, cached);
    }
    if (cachedValue.ok) this.#count(cachedValue.value === null ? 'miss' : 'fallthrough');
    const record = await super._getRecord(idempotencyKey);
    await this.#remember(record);
    return record;
  }

  protected override async _updateRecord(record: IdempotencyRecord): Promise<void> {
    await super._updateRecord(record);
    await this.#remember(record);
  }

  protected override async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    await super._deleteRecord(record);
    await this.#tryCache((cache) => cache.delete(record.idempotencyKey));
  }

  /** Writes a completed record to Redis for the rest of its retention; ignores other states. */
  async #remember(record: IdempotencyRecord): Promise<void> {
    if (record.getStatus() !== IdempotencyRecordStatus.COMPLETED) return;
    const expiresAt = record.expiryTimestamp ?? Date.now() / 1000 + this.expiresAfterSeconds;
    const ttlSeconds = expiresAt - Date.now() / 1000;
    if (ttlSeconds <= 0) return;
    const cached: CachedRecord = {
      status: 'COMPLETED',
      expiresAt,
      payloadHash: record.payloadHash,
      response: record.responseData,
    };
    await this.#tryCache((cache) =>
      cache.set(record.idempotencyKey, JSON.stringify(cached), ttlSeconds),
    );
  }

  /** Runs a Redis command through the breaker; a failure is counted and swallowed. */
  async #tryCache<T>(
    command: (cache: IdempotencyCache) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }> {
    if (this.#breaker.opened) {
      this.#count('fallthrough');
      return { ok: false };
    }
    try {
      return { ok: true, value: (await this.#breaker.fire(() => command(this.#cache))) as T };
    } catch {
      this.#count('error');
      return { ok: false };
    }
  }

  #count(result: CacheResult): void {
    this.#onCacheResult(result);
  }
}

function parseCached(value: string | null): CachedRecord | undefined {
  if (value === null) return undefined;
  try {
    const parsed = JSON.parse(value) as CachedRecord;
    // An expired entry Redis has not evicted yet is no answer.
    if (parsed.status === 'COMPLETED' && parsed.expiresAt * 1000 <= Date.now()) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}

function toRecord(idempotencyKey: string, cached: CachedRecord): IdempotencyRecord {
  return new IdempotencyRecord({
    idempotencyKey,
    status: IdempotencyRecordStatus.COMPLETED,
    expiryTimestamp: cached.expiresAt,
    payloadHash: cached.payloadHash,
    responseData: cached.response as IdempotencyRecord['responseData'],
  });
}
