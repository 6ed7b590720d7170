import { randomUUID } from 'node:crypto';
import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
  IdempotencyUnknownError,
} from '@aws-lambda-powertools/idempotency';
import {
  BasePersistenceLayer,
  IdempotencyRecord,
} from '@aws-lambda-powertools/idempotency/persistence';
import type { Queryable } from '../store/database.ts';
import { claimTokensOfCurrentInvocation } from './claim-tokens.ts';

export interface PostgresPersistenceLayerOptions {
  /** A pg Pool (or anything with its `query`). */
  pool: Queryable;
  /** Table holding the records; see functions/migrate/migrations for its shape. */
  tableName?: string;
  /**
   * How long a claim stays exclusive before another invocation may take it over, in seconds.
   * Unset: the Lambda's remaining time, as in Powertools' own layers. Set it to cover the
   * handler's real worst case when that is shorter than the function timeout.
   */
  inProgressWindowSeconds?: number;
}

/** Thrown when an invocation completes a record whose claim another invocation took over. */
export class IdempotencyClaimLostError extends IdempotencyUnknownError {
  constructor(idempotencyKey: string) {
    super(
      `The claim on ${idempotencyKey} was taken over by another invocation; its record was left alone.`,
    );
    this.name = 'IdempotencyClaimLostError';
  }
}

interface RecordRow {
  id: string;
  status: 'INPROGRESS' | 'COMPLETED';
  payload_hash: string | null;
  response: unknown;
  expires_in_seconds: number;
  in_progress_expires_in_seconds: number | null;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;
/** Fallback when the Lambda context gives no remaining time. */
const DEFAULT_IN_PROGRESS_WINDOW_SECONDS = 60;
/** A record may vanish between a failed claim and the read (its owner failed and released it). */
const CLAIM_ATTEMPTS = 3;

/**
 * The statements a charge's idempotency record costs: the one-statement claim (create, or take
 * over an expired or orphaned record) and the ownership-checked completion. Exported so the
 * benchmark measures PostgreSQL's ceiling on exactly these.
 */
export function idempotencyStatements(table: string): { claim: string; complete: string } {
  return {
    claim: `INSERT INTO ${table} AS r
           (id, status, expires_at, in_progress_expires_at, payload_hash, claim_token)
         VALUES ($1, 'INPROGRESS', now() + make_interval(secs => $2), now() + make_interval(secs => $3), $4, $5)
         ON CONFLICT (id) DO UPDATE SET
           status = 'INPROGRESS', expires_at = EXCLUDED.expires_at,
           in_progress_expires_at = EXCLUDED.in_progress_expires_at,
           payload_hash = EXCLUDED.payload_hash, claim_token = EXCLUDED.claim_token,
           response = NULL, updated_at = now()
         WHERE r.expires_at <= now()
            OR (r.status = 'INPROGRESS' AND r.in_progress_expires_at <= now())
         RETURNING id`,
    complete: `UPDATE ${table}
             SET status = 'COMPLETED', response = $2, payload_hash = $3,
                 expires_at = now() + make_interval(secs => $4),
                 in_progress_expires_at = NULL, updated_at = now()
           WHERE id = $1 AND claim_token = $5`,
  };
}

/**
 * Powertools idempotency over PostgreSQL instead of DynamoDB.
 *
 * - The claim is one statement (INSERT … ON CONFLICT DO UPDATE … WHERE): it creates the
 *   record, or takes over one that has expired or whose in-progress window has lapsed
 *   (its owner crashed), or does nothing. No read-then-write race.
 * - Every claim gets a fresh token. Completion and release match on it, so an invocation
 *   that lost its claim cannot overwrite or delete the record of the one that took over.
 * - All times are database time (`now()`), so Lambda clock skew cannot expire a record early.
 * - {@link deleteExpiredRecords} removes old records; the scheduled relay calls it.
 */
export class PostgresPersistenceLayer extends BasePersistenceLayer {
  readonly #pool: Queryable;
  readonly #table: string;
  readonly #inProgressWindowSeconds: number | undefined;
  readonly #sql: { claim: string; complete: string };
  /** Tokens of claims made outside any Lambda invocation context. */
  readonly #tokensOutsideInvocations = new Map<string, string>();

  constructor(options: PostgresPersistenceLayerOptions) {
    super();
    const table = options.tableName ?? 'idempotency_records';
    if (!IDENTIFIER.test(table)) throw new Error(`invalid idempotency table name: ${table}`);
    if (options.inProgressWindowSeconds !== undefined && !(options.inProgressWindowSeconds > 0)) {
      throw new Error('inProgressWindowSeconds must be a positive number of seconds');
    }
    this.#pool = options.pool;
    this.#table = table;
    this.#sql = idempotencyStatements(table);
    this.#inProgressWindowSeconds = options.inProgressWindowSeconds;
  }

  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    const token = randomUUID();
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
      const claimed = await this.#pool.query(this.#sql.claim, [
        record.idempotencyKey,
        this.expiresAfterSeconds,
        this.#inProgressWindowFor(record),
        record.payloadHash ?? null,
        token,
      ]);
      if (claimed.rowCount === 1) {
        (await this.#claimTokens()).set(record.idempotencyKey, token);
        return;
      }
      const existing = await this.#readRecord(record.idempotencyKey);
      if (existing) {
        throw new IdempotencyItemAlreadyExistsError(
          `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
          existing,
        );
      }
    }
    throw new IdempotencyUnknownError(
      `Could not claim or read idempotency key ${record.idempotencyKey}`,
    );
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const record = await this.#readRecord(idempotencyKey);
    if (!record)
      throw new IdempotencyItemNotFoundError(`No record for idempotency key ${idempotencyKey}`);
    return record;
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    const tokens = await this.#claimTokens();
    const token = tokens.get(record.idempotencyKey);
    const completed = token
      ? await this.#pool.query(this.#sql.complete, [
          record.idempotencyKey,
          JSON.stringify(record.responseData ?? null),
          record.payloadHash ?? null,
          this.expiresAfterSeconds,
          token,
        ])
      : undefined;
    tokens.delete(record.idempotencyKey);
    if (completed?.rowCount !== 1) throw new IdempotencyClaimLostError(record.idempotencyKey);
  }

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    const tokens = await this.#claimTokens();
    const token = tokens.get(record.idempotencyKey);
    // Without a claim of our own there is nothing of ours to release: the record belongs to
    // a concurrent invocation (this one was answered 409/422) or to one that took over.
    if (!token) return;
    tokens.delete(record.idempotencyKey);
    await this.#pool.query(`DELETE FROM ${this.#table} WHERE id = $1 AND claim_token = $2`, [
      record.idempotencyKey,
      token,
    ]);
  }

  /**
   * Deletes up to `limit` records whose retention has ended (by database time), including
   * in-progress records orphaned by crashed invocations.
   * @returns how many records were deleted
   */
  async deleteExpiredRecords(limit = 1000): Promise<number> {
    const deleted = await this.#pool.query(
      `DELETE FROM ${this.#table} WHERE id IN (
         SELECT id FROM ${this.#table} WHERE expires_at < now()
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [limit],
    );
    return deleted.rowCount ?? 0;
  }

  #inProgressWindowFor(record: IdempotencyRecord): number {
    if (this.#inProgressWindowSeconds !== undefined) return this.#inProgressWindowSeconds;
    // Powertools sets inProgressExpiryTimestamp to now + the Lambda's remaining time (ms);
    // only the duration is kept, so the window itself is measured on the database clock.
    const remainingMs = (record.inProgressExpiryTimestamp ?? 0) - Date.now();
    return remainingMs > 0 ? remainingMs / 1000 : DEFAULT_IN_PROGRESS_WINDOW_SECONDS;
  }

  #claimTokens(): Promise<Map<string, string>> {
    return claimTokensOfCurrentInvocation(this.#tokensOutsideInvocations);
  }

  /**
   * Reads a record, translating database-clock deadlines into this process's clock: the
   * remaining lifetime is measured by the database and added to the local `Date.now()`,
   * which is what Powertools compares against.
   */
  async #readRecord(idempotencyKey: string): Promise<IdempotencyRecord | undefined> {
    const result = await this.#pool.query<RecordRow>(
      `SELECT id, status, payload_hash, response,
              extract(epoch FROM expires_at - now())::float8 AS expires_in_seconds,
              extract(epoch FROM in_progress_expires_at - now())::float8 AS in_progress_expires_in_seconds
         FROM ${this.#table} WHERE id = $1`,
      [idempotencyKey],
    );
    const row = result.rows[0];
    if (!row) return undefined;
    const nowMs = Date.now();
    return new IdempotencyRecord({
      idempotencyKey: row.id,
      status: IdempotencyRecordStatus[row.status],
      expiryTimestamp: nowMs / 1000 + row.expires_in_seconds,
      inProgressExpiryTimestamp:
        row.in_progress_expires_in_seconds === null
          ? undefined
          : nowMs + row.in_progress_expires_in_seconds * 1000,
      payloadHash: row.payload_hash ?? undefined,
      responseData: row.response as IdempotencyRecord['responseData'],
    });
  }
}
