import { randomUUID } from 'node:crypto';
import {
  IdempotencyInvalidStatusError,
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
  IdempotencyUnknownError,
} from '@aws-lambda-powertools/idempotency';
import {
  BasePersistenceLayer,
  IdempotencyRecord,
} from '@aws-lambda-powertools/idempotency/persistence';
import { claimsOfCurrentInvocation } from './claim-tokens.ts';

/** What the layer needs of a database connection: a pg `Pool` (or `Client`) has it. */
export interface Queryable {
  // biome-ignore lint/suspicious/noExplicitAny: pg's own result rows are `any`
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}

export interface PostgresPersistenceLayerOptions {
  /** A pg Pool (or anything with its `query`). */
  pool: Queryable;
  /** Table holding the records (`name` or `schema.name`); see migrations/ for its shape. */
  tableName?: string;
  /**
   * How long a claim stays exclusive before another invocation may take it over, in seconds,
   * whatever the Lambda context says. Unset: the Lambda's remaining time, as in Powertools'
   * own layers. Set it to cover the handler's real worst case when that is shorter than the
   * function timeout, so a crashed invocation's key is free again sooner.
   */
  inProgressWindowSeconds?: number;
  /**
   * The in-progress window when there is no Lambda context (`registerLambdaContext` was not
   * called, or the code does not run in Lambda) and `inProgressWindowSeconds` is unset.
   * Unset (the default): no window at all, as in Powertools' DynamoDB layer: the record stays
   * in progress until its retention (`expiresAfterSeconds`) ends. Without a context nothing
   * tells how long the work may take, and taking a record over while its owner still runs is
   * the one thing idempotency must not do; a crashed owner costs its key's retention instead.
   */
  inProgressWindowWithoutContextSeconds?: number;
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

type StoredStatus = 'INPROGRESS' | 'COMPLETED';

interface RecordRow {
  id: string;
  status: StoredStatus;
  payload_hash: string | null;
  response: unknown;
  has_response: boolean;
  claim_token: string;
  expires_in_seconds: number;
  in_progress_expires_in_seconds: number | null;
}

/**
 * A claim this invocation made (`mine`), or the claim it found on a record when its own claim
 * failed. Only a durable-function replay goes on to complete after a failed claim (Powertools
 * runs the replay's handler anyway), and it may complete the record it found, and only that.
 */
interface Claim {
  token: string;
  mine: boolean;
  status: StoredStatus;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;
/** A record may vanish between a failed claim and the read (its owner failed and released it). */
const CLAIM_ATTEMPTS = 3;

/**
 * The statements a record costs: the one-statement claim (create, or take over an expired or
 * orphaned record), the claim-checked completion, and a durable replay's completion of the
 * claim it found. Exported so a benchmark can measure PostgreSQL's ceiling on exactly these.
 */
export function idempotencyStatements(table: string): {
  claim: string;
  complete: string;
  completeFoundClaim: string;
} {
  if (!IDENTIFIER.test(table)) throw new Error(`invalid idempotency table name: ${table}`);
  const completion = `UPDATE ${table}
             SET status = 'COMPLETED', response = $2::jsonb, payload_hash = $3,
                 expires_at = now() + make_interval(secs => $4),
                 in_progress_expires_at = NULL, updated_at = now()`;
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
    complete: `${completion} WHERE id = $1 AND claim_token = $5`,
    // Compare-and-set on the token the replay saw, then a fresh token: whoever held that
    // claim can no longer complete over the replay's result.
    completeFoundClaim: `${completion}, claim_token = $6
           WHERE id = $1 AND claim_token = $5 AND status = 'INPROGRESS'
             AND payload_hash IS NOT DISTINCT FROM $3`,
  };
}

/**
 * Powertools idempotency over PostgreSQL.
 *
 * - The claim is one statement (INSERT … ON CONFLICT DO UPDATE … WHERE): it creates the
 *   record, or takes over one that has expired or whose in-progress window has lapsed
 *   (its owner crashed), or does nothing. No read-then-write race.
 * - Every claim gets a fresh token. Completion and release match on it, so an invocation
 *   that lost its claim cannot overwrite or delete the record of the one that took over.
 * - All times are database time (`now()`), so Lambda clock skew cannot expire a record early.
 * - {@link deleteExpiredRecords} removes records whose retention has ended.
 */
export class PostgresPersistenceLayer extends BasePersistenceLayer {
  readonly #pool: Queryable;
  readonly #table: string;
  readonly #inProgressWindowSeconds: number | undefined;
  readonly #inProgressWindowWithoutContextSeconds: number | undefined;
  readonly #sql: ReturnType<typeof idempotencyStatements>;
  /** Claims made outside any Lambda invocation context. */
  readonly #claimsOutsideInvocations = new Map<string, Claim>();

  constructor(options: PostgresPersistenceLayerOptions) {
    super();
    const table = options.tableName ?? 'idempotency_records';
    this.#sql = idempotencyStatements(table);
    for (const option of ['inProgressWindowSeconds', 'inProgressWindowWithoutContextSeconds']) {
      const seconds = options[option as keyof PostgresPersistenceLayerOptions];
      if (seconds !== undefined && !(typeof seconds === 'number' && seconds > 0)) {
        throw new Error(`${option} must be a positive number of seconds`);
      }
    }
    this.#pool = options.pool;
    this.#table = table;
    this.#inProgressWindowSeconds = options.inProgressWindowSeconds;
    this.#inProgressWindowWithoutContextSeconds = options.inProgressWindowWithoutContextSeconds;
  }

  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    expectStatus(record, IdempotencyRecordStatus.INPROGRESS);
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
        (await this.#claims()).set(record.idempotencyKey, {
          token,
          mine: true,
          status: 'INPROGRESS',
        });
        return;
      }
      const existing = await this.#readRow(record.idempotencyKey);
      if (existing) {
        (await this.#claims()).set(record.idempotencyKey, {
          token: existing.claim_token,
          mine: false,
          status: existing.status,
        });
        throw new IdempotencyItemAlreadyExistsError(
          `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
          toRecord(existing),
        );
      }
    }
    throw new IdempotencyUnknownError(
      `Could not claim or read idempotency key ${record.idempotencyKey}`,
    );
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const row = await this.#readRow(idempotencyKey);
    if (!row)
      throw new IdempotencyItemNotFoundError(`No record for idempotency key ${idempotencyKey}`);
    return toRecord(row);
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    expectStatus(record, IdempotencyRecordStatus.COMPLETED);
    const claims = await this.#claims();
    const claim = claims.get(record.idempotencyKey);
    claims.delete(record.idempotencyKey);
    if (!claim) throw new IdempotencyClaimLostError(record.idempotencyKey);
    // A durable replay of work whose record is already completed: that record is the answer
    // and stays as it is (completed records are never rewritten).
    if (!claim.mine && claim.status === 'COMPLETED') return;
    const values = [
      record.idempotencyKey,
      // SQL NULL for `undefined`, JSON null for `null`: both come back as they went in.
      record.responseData === undefined ? null : JSON.stringify(record.responseData),
      record.payloadHash ?? null,
      this.expiresAfterSeconds,
      claim.token,
    ];
    const completed = claim.mine
      ? await this.#pool.query(this.#sql.complete, values)
      : await this.#pool.query(this.#sql.completeFoundClaim, [...values, randomUUID()]);
    if (completed.rowCount !== 1) throw new IdempotencyClaimLostError(record.idempotencyKey);
  }

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    const claims = await this.#claims();
    const claim = claims.get(record.idempotencyKey);
    claims.delete(record.idempotencyKey);
    // Only a claim of our own is released. A record we merely found belongs to a concurrent
    // invocation (this one was refused) or to one that took over.
    if (!claim?.mine) return;
    await this.#pool.query(`DELETE FROM ${this.#table} WHERE id = $1 AND claim_token = $2`, [
      record.idempotencyKey,
      claim.token,
    ]);
  }

  /**
   * Tells the layer that a record it was refused is completed (a cache answered instead of
   * the table), so a durable replay that completes after the refusal leaves it alone.
   */
  protected async noteCompletedRecordFound(idempotencyKey: string): Promise<void> {
    (await this.#claims()).set(idempotencyKey, { token: '', mine: false, status: 'COMPLETED' });
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

  /** Seconds the claim stays exclusive; null: until the record expires. */
  #inProgressWindowFor(record: IdempotencyRecord): number | null {
    if (this.#inProgressWindowSeconds !== undefined) return this.#inProgressWindowSeconds;
    // Powertools sets inProgressExpiryTimestamp to now + the Lambda's remaining time (ms) when
    // it has a context; only the duration is kept, so the window runs on the database clock.
    if (record.inProgressExpiryTimestamp !== undefined) {
      return Math.max(record.inProgressExpiryTimestamp - Date.now(), 1) / 1000;
    }
    return this.#inProgressWindowWithoutContextSeconds ?? null;
  }

  #claims(): Promise<Map<string, Claim>> {
    return claimsOfCurrentInvocation(this.#claimsOutsideInvocations);
  }

  async #readRow(idempotencyKey: string): Promise<RecordRow | undefined> {
    const result = await this.#pool.query(
      `SELECT id, status, payload_hash, response, response IS NOT NULL AS has_response, claim_token,
              extract(epoch FROM expires_at - now())::float8 AS expires_in_seconds,
              extract(epoch FROM in_progress_expires_at - now())::float8 AS in_progress_expires_in_seconds
         FROM ${this.#table} WHERE id = $1`,
      [idempotencyKey],
    );
    return result.rows[0] as RecordRow | undefined;
  }
}

function expectStatus(record: IdempotencyRecord, expected: StoredStatus): void {
  const status = record.getStatus();
  if (status !== expected) {
    throw new IdempotencyInvalidStatusError(
      `A record for ${record.idempotencyKey} must be ${expected} here, not ${status}`,
    );
  }
}

/**
 * Translates database-clock deadlines into this process's clock: the remaining lifetime is
 * measured by the database and added to the local `Date.now()`, which Powertools compares
 * against.
 */
function toRecord(row: RecordRow): IdempotencyRecord {
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
    responseData: row.has_response
      ? (row.response as IdempotencyRecord['responseData'])
      : undefined,
  });
}
