/**
 * The persistence-layer cases of Powertools' own suites, run against real PostgreSQL.
 * Each test names the upstream case it mirrors in brackets: the TypeScript repository's
 * packages/idempotency/tests/unit/persistence/{DynamoDbPersistenceLayer,BasePersistenceLayer}
 * .test.ts, or the Python repository's tests/functional/idempotency/persistence/test_redis_layer.py.
 * BEHAVIOUR.md tabulates them with their results.
 */
import { createHash } from 'node:crypto';
import {
  IdempotencyConfig,
  IdempotencyInvalidStatusError,
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyKeyError,
  IdempotencyRecordStatus,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import { IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  IdempotencyClaimLostError,
  PostgresPersistenceLayer,
  type PostgresPersistenceLayerOptions,
} from '../src/index.ts';
import { createPackageTestDatabase, type PackageTestDatabase } from './support/database.ts';
import { asInvocation } from './support/invocations.ts';

let db: PackageTestDatabase;

/** Opens the protected record operations to the cases that call them directly, as upstream's do. */
class TestablePersistenceLayer extends PostgresPersistenceLayer {
  putRecordForTest(record: IdempotencyRecord): Promise<void> {
    return this._putRecord(record);
  }
  updateRecordForTest(record: IdempotencyRecord): Promise<void> {
    return this._updateRecord(record);
  }
}

/** Powertools' payload hash for `body` with sha256: base64 of the sorted JSON. */
function payloadHashOf(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('base64');
}

beforeAll(async () => {
  db = await createPackageTestDatabase();
});
afterAll(() => db.drop());
beforeEach(async () => {
  vi.unstubAllEnvs();
  await db.pool.query('TRUNCATE idempotency_records');
});

function layer(
  options: Partial<PostgresPersistenceLayerOptions> & {
    config?: ConstructorParameters<typeof IdempotencyConfig>[0];
    keyPrefix?: string;
  } = {},
) {
  const { config, keyPrefix, ...layerOptions } = options;
  const persistence = new TestablePersistenceLayer({
    pool: db.pool,
    inProgressWindowSeconds: 30,
    ...layerOptions,
  });
  persistence.configure({
    config: new IdempotencyConfig({
      eventKeyJmesPath: 'key',
      payloadValidationJmesPath: 'body',
      hashFunction: 'sha256',
      ...config,
    }),
    ...(keyPrefix ? { keyPrefix } : {}),
  });
  return persistence;
}

async function rows() {
  const { rows } = await db.pool.query(
    `SELECT id, status, response, response IS NULL AS no_response, payload_hash, claim_token,
            extract(epoch FROM expires_at - now())::float8 AS expires_in,
            extract(epoch FROM in_progress_expires_at - now())::float8 AS in_progress_in
       FROM idempotency_records ORDER BY created_at`,
  );
  return rows;
}

async function onlyRow() {
  const all = await rows();
  expect(all).toHaveLength(1);
  return all[0];
}

/** Moves the in-progress deadline into the past: the owner is presumed dead. */
async function lapseInProgressWindow(): Promise<void> {
  await db.pool.query(
    `UPDATE idempotency_records SET in_progress_expires_at = now() - interval '1 second'`,
  );
}

const request = { key: 'k1', body: { amount: 1 } };

describe('claiming a key (_putRecord)', () => {
  it('creates one in-progress record, retention and window on the database clock [DynamoDbPersistenceLayer › _putRecord › puts the record in DynamoDB]', async () => {
    const persistence = layer({
      inProgressWindowSeconds: 45,
      config: { expiresAfterSeconds: 7200 },
    });
    await asInvocation('owner', () => persistence.saveInProgress(request, 10_000));
    const row = await onlyRow();
    expect(row.status).toBe('INPROGRESS');
    expect(row.in_progress_in).toBeGreaterThan(44);
    expect(row.in_progress_in).toBeLessThanOrEqual(45);
    expect(row.expires_in).toBeGreaterThan(7199);
  });

  it('uses the Lambda remaining time as the in-progress window [DynamoDbPersistenceLayer › _putRecord › puts the record in DynamoDB when using an in progress expiry timestamp]', async () => {
    const persistence = layer({ inProgressWindowSeconds: undefined });
    await asInvocation('owner', () => persistence.saveInProgress(request, 8_000));
    const row = await onlyRow();
    expect(row.in_progress_in).toBeGreaterThan(7);
    expect(row.in_progress_in).toBeLessThanOrEqual(8);
  });

  it('stores the payload hash [DynamoDbPersistenceLayer › _putRecord › puts record in DynamoDB table when using payload validation]', async () => {
    const persistence = layer();
    await asInvocation('owner', () => persistence.saveInProgress(request, 10_000));
    const row = await onlyRow();
    expect(row.payload_hash).toBe(payloadHashOf(request.body));
  });

  it('refuses a live record and hands Powertools the existing one [DynamoDbPersistenceLayer › _putRecord › throws when called with a record that fails any condition]', async () => {
    const persistence = layer();
    await asInvocation('owner', () => persistence.saveInProgress(request, 10_000));
    const refusal = await asInvocation('second', () =>
      persistence.saveInProgress(request, 10_000),
    ).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    const existing = (refusal as IdempotencyItemAlreadyExistsError).existingRecord;
    expect(existing?.getStatus()).toBe('INPROGRESS');
    expect(existing?.idempotencyKey).toMatch(/#/);
  });

  it('lets a database error through [DynamoDbPersistenceLayer › _putRecord › throws when encountering an unknown error]', async () => {
    const persistence = layer({ tableName: 'no_such_table' });
    await expect(
      asInvocation('owner', () => persistence.saveInProgress(request, 10_000)),
    ).rejects.toThrow(/no_such_table/);
  });

  it('refuses a record whose status is not INPROGRESS instead of storing it as in progress [DynamoDbPersistenceLayer › _putRecord › puts the record in DynamoDB (status EXPIRED)]', async () => {
    const persistence = layer();
    const record = new IdempotencyRecord({
      idempotencyKey: 'k-expired',
      status: IdempotencyRecordStatus.COMPLETED,
      expiryTimestamp: Date.now() / 1000 + 60,
    });
    await expect(persistence.putRecordForTest(record)).rejects.toBeInstanceOf(
      IdempotencyInvalidStatusError,
    );
    expect(await rows()).toHaveLength(0);
  });

  it('lets exactly one of many concurrent invocations claim a new key [test_redis_layer.py › test_redis_race_condition]', async () => {
    const persistence = layer();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        asInvocation(`r${i}`, () => persistence.saveInProgress(request, 10_000)),
      ),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const refused = results.filter((result) => result.status === 'rejected');
    expect(refused).toHaveLength(19);
    for (const refusal of refused) {
      expect((refusal as PromiseRejectedResult).reason).toBeInstanceOf(
        IdempotencyItemAlreadyExistsError,
      );
    }
    await onlyRow();
  });

  it('takes an orphaned record over with a new token once its in-progress window lapsed [test_redis_layer.py › test_redis_orphan_record]', async () => {
    const persistence = layer();
    await asInvocation('crashed', () => persistence.saveInProgress(request, 10_000));
    const orphan = await onlyRow();
    await lapseInProgressWindow();
    await asInvocation('takeover', () => persistence.saveInProgress(request, 10_000));
    const taken = await onlyRow();
    expect(taken.claim_token).not.toBe(orphan.claim_token);
    expect(taken.in_progress_in).toBeGreaterThan(29);
  });

  it('refuses a takeover while the owner is inside its window, leaving the record as it was [test_redis_layer.py › test_redis_orphan_record_lock]', async () => {
    const persistence = layer();
    await asInvocation('owner', () => persistence.saveInProgress(request, 10_000));
    const before = await onlyRow();
    await expect(
      asInvocation('early', () => persistence.saveInProgress(request, 10_000)),
    ).rejects.toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    expect(await onlyRow()).toEqual({
      ...before,
      expires_in: expect.any(Number),
      in_progress_in: expect.any(Number),
    });
  });

  it('lets exactly one of many concurrent invocations take over an orphaned record [test_redis_layer.py › test_redis_orphan_record_race_condition]', async () => {
    const persistence = layer();
    await asInvocation('crashed', () => persistence.saveInProgress(request, 10_000));
    const orphan = await onlyRow();
    await lapseInProgressWindow();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        asInvocation(`t${i}`, () => persistence.saveInProgress(request, 10_000)),
      ),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect((await onlyRow()).claim_token).not.toBe(orphan.claim_token);
  });

  it('treats a record past its retention as new, completed or not [DynamoDbPersistenceLayer › _putRecord condition: #expiry < :now]', async () => {
    const persistence = layer();
    await asInvocation('old', async () => {
      await persistence.saveInProgress(request, 10_000);
      await persistence.saveSuccess(request, { body: 'old' });
    });
    await db.pool.query(`UPDATE idempotency_records SET expires_at = now() - interval '1 second'`);
    expect((await persistence.getRecord(request)).getStatus()).toBe('EXPIRED');
    await asInvocation('again', () => persistence.saveInProgress(request, 10_000));
    expect(await onlyRow()).toMatchObject({ status: 'INPROGRESS', no_response: true });
  });
});

describe('reading a record (_getRecord)', () => {
  it('returns status, deadlines and response as stored [DynamoDbPersistenceLayer › _getRecord › gets the record from DynamoDB]', async () => {
    const persistence = layer({ config: { expiresAfterSeconds: 600 } });
    await asInvocation('owner', () => persistence.saveInProgress(request, 10_000));
    const inProgress = await persistence.getRecord(request);
    expect(inProgress.getStatus()).toBe('INPROGRESS');
    expect(inProgress.inProgressExpiryTimestamp).toBeGreaterThan(Date.now() + 29_000);
    await asInvocation('owner-2', async () => {
      await db.pool.query('TRUNCATE idempotency_records');
      await persistence.saveInProgress(request, 10_000);
      await persistence.saveSuccess(request, { statusCode: 201, body: '{"id":"c1"}' });
    });
    const completed = await persistence.getRecord(request);
    expect(completed.getStatus()).toBe('COMPLETED');
    expect(completed.getResponse()).toEqual({ statusCode: 201, body: '{"id":"c1"}' });
    expect(completed.expiryTimestamp).toBeGreaterThan(Date.now() / 1000 + 590);
    expect(completed.inProgressExpiryTimestamp).toBeUndefined();
  });

  it('throws IdempotencyItemNotFoundError for an unknown key [DynamoDbPersistenceLayer › _getRecord › throws when the record does not exist]', async () => {
    await expect(layer().getRecord({ key: 'nobody', body: {} })).rejects.toBeInstanceOf(
      IdempotencyItemNotFoundError,
    );
  });

  it("returns the stored payload hash, and Powertools refuses a different payload [DynamoDbPersistenceLayer › _getRecord › gets the record and validates the hash correctly; BasePersistenceLayer › getRecord › throws an IdempotencyValidationError when the hashes don't match]", async () => {
    const persistence = layer();
    await asInvocation('owner', () => persistence.saveInProgress(request, 10_000));
    expect((await persistence.getRecord(request)).payloadHash).toBe(payloadHashOf(request.body));
    await expect(persistence.getRecord({ key: 'k1', body: { amount: 2 } })).rejects.toBeInstanceOf(
      IdempotencyValidationError,
    );
  });
});

describe('completing a record (_updateRecord)', () => {
  it('stores the response and the payload hash and ends the in-progress window [DynamoDbPersistenceLayer › _updateRecord › it updates the item with the correct parameters; … › uses the payload hash in the expression when payload validation is enabled]', async () => {
    const persistence = layer();
    await asInvocation('owner', async () => {
      await persistence.saveInProgress(request, 10_000);
      await persistence.saveSuccess(request, { ok: true });
    });
    expect(await onlyRow()).toMatchObject({
      status: 'COMPLETED',
      response: { ok: true },
      payload_hash: payloadHashOf(request.body),
      in_progress_in: null,
    });
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['false', false],
    ['0', 0],
    ['an empty string', ''],
  ])(
    'round-trips a response of %s [DynamoDbPersistenceLayer › _updateRecord › updates the item when the response_data is undefined]',
    async (_name, response) => {
      const persistence = layer();
      await asInvocation('owner', async () => {
        await persistence.saveInProgress(request, 10_000);
        // biome-ignore lint/suspicious/noExplicitAny: the response is any JSON value or undefined
        await persistence.saveSuccess(request, response as any);
      });
      const record = await persistence.getRecord(request);
      expect(record.getStatus()).toBe('COMPLETED');
      expect(record.getResponse()).toStrictEqual(response);
    },
  );

  it('refuses a record whose status is not COMPLETED [DynamoDbPersistenceLayer › _updateRecord (status EXPIRED)]', async () => {
    const persistence = layer();
    await asInvocation('owner', async () => {
      await persistence.saveInProgress(request, 10_000);
      const [row] = await rows();
      await expect(
        persistence.updateRecordForTest(
          new IdempotencyRecord({
            idempotencyKey: row.id,
            status: IdempotencyRecordStatus.INPROGRESS,
            expiryTimestamp: Date.now() / 1000 + 60,
          }),
        ),
      ).rejects.toBeInstanceOf(IdempotencyInvalidStatusError);
    });
    expect(await onlyRow()).toMatchObject({ status: 'INPROGRESS' });
  });

  it('refuses a completion by an invocation that holds no claim on the record (deliberate difference) [DynamoDbPersistenceLayer › _updateRecord › it updates the item with the correct parameters (unconditional update)]', async () => {
    const persistence = layer();
    await asInvocation('owner', () => persistence.saveInProgress(request, 10_000));
    await expect(
      asInvocation('stranger', () => persistence.saveSuccess(request, { body: 'stranger' })),
    ).rejects.toBeInstanceOf(IdempotencyClaimLostError);
    expect(await onlyRow()).toMatchObject({ status: 'INPROGRESS', no_response: true });
  });

  it('rejects a late completion by the original invocation after a takeover (deliberate difference) [DynamoDbPersistenceLayer › _updateRecord (unconditional update)]', async () => {
    const persistence = layer();
    await asInvocation('original', async () => {
      await persistence.saveInProgress(request, 10_000);
      await lapseInProgressWindow();
      await asInvocation('takeover', () => persistence.saveInProgress(request, 10_000));
      await expect(
        persistence.saveSuccess(request, { body: 'late original' }),
      ).rejects.toBeInstanceOf(IdempotencyClaimLostError);
    });
    expect(await onlyRow()).toMatchObject({ status: 'INPROGRESS', no_response: true });
  });

  it('lets the new owner complete after a takeover while the original fails [DynamoDbPersistenceLayer › _updateRecord (unconditional update)]', async () => {
    const persistence = layer();
    let releaseOriginal: () => void = () => {};
    const originalMayFinish = new Promise<void>((resolve) => {
      releaseOriginal = resolve;
    });
    const original = asInvocation('original', async () => {
      await persistence.saveInProgress(request, 10_000);
      await originalMayFinish;
      return persistence.saveSuccess(request, { body: 'original' });
    });
    await expect.poll(async () => (await rows()).length).toBe(1);
    await lapseInProgressWindow();
    await asInvocation('takeover', async () => {
      await persistence.saveInProgress(request, 10_000);
      await persistence.saveSuccess(request, { body: 'takeover' });
    });
    releaseOriginal();
    await expect(original).rejects.toBeInstanceOf(IdempotencyClaimLostError);
    expect(await onlyRow()).toMatchObject({ status: 'COMPLETED', response: { body: 'takeover' } });
  });
});

describe('releasing a record (_deleteRecord)', () => {
  it('lets the owner release its claim, so a retry can claim again [DynamoDbPersistenceLayer › _deleteRecord › deletes the record using the correct parameters]', async () => {
    const persistence = layer();
    await asInvocation('owner', async () => {
      await persistence.saveInProgress(request, 10_000);
      await persistence.deleteRecord(request);
    });
    expect(await rows()).toHaveLength(0);
    await asInvocation('retry', () => persistence.saveInProgress(request, 10_000));
    expect(await rows()).toHaveLength(1);
  });

  it('never deletes a record it does not own: a refused duplicate leaves the owner alone (deliberate difference) [DynamoDbPersistenceLayer › _deleteRecord (unconditional delete)]', async () => {
    const persistence = layer();
    await asInvocation('owner', () => persistence.saveInProgress(request, 10_000));
    await asInvocation('refused', async () => {
      await expect(persistence.saveInProgress(request, 10_000)).rejects.toBeInstanceOf(
        IdempotencyItemAlreadyExistsError,
      );
      await persistence.deleteRecord(request);
    });
    expect(await onlyRow()).toMatchObject({ status: 'INPROGRESS' });
  });

  it('never deletes a record another invocation took over (deliberate difference) [DynamoDbPersistenceLayer › _deleteRecord (unconditional delete)]', async () => {
    const persistence = layer();
    await asInvocation('original', async () => {
      await persistence.saveInProgress(request, 10_000);
      await lapseInProgressWindow();
      await asInvocation('takeover', () => persistence.saveInProgress(request, 10_000));
      await persistence.deleteRecord(request);
    });
    expect(await onlyRow()).toMatchObject({ status: 'INPROGRESS' });
  });
});

describe('key prefixes and Powertools configuration (BasePersistenceLayer)', () => {
  it.each([
    ['the Lambda function name', {}, 'payments-fn', 'payments-fn#'],
    [
      'the function name and the wrapped function name',
      { functionName: 'charge' },
      'payments-fn',
      'payments-fn.charge#',
    ],
    ['a custom prefix', { keyPrefix: 'my-custom-prefix' }, 'payments-fn', 'my-custom-prefix#'],
    ['an empty prefix outside Lambda', {}, undefined, '#'],
  ])(
    'keys records by %s [BasePersistenceLayer › constructor/configure › initializes with default values; appends the function name to the idempotency key prefix; appends custom prefix to the idempotence key prefix; initializes with empty key prefix if AWS_LAMBDA_FUNCTION_NAME is not in the environment variable]',
    async (_name, configureOptions, functionName, prefix) => {
      vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', functionName);
      const persistence = new PostgresPersistenceLayer({ pool: db.pool });
      persistence.configure({ config: new IdempotencyConfig({}), ...configureOptions });
      await asInvocation('owner', () => persistence.saveInProgress({ any: 'event' }, 10_000));
      const row = await onlyRow();
      expect(row.id.startsWith(prefix)).toBe(true);
      expect(row.id.slice(prefix.length)).not.toContain('#');
    },
  );

  it('refuses an event without a key when throwOnNoIdempotencyKey is set, writing nothing [BasePersistenceLayer › getRecord › throws an error when throwOnNoIdempotencyKey is enabled and the key is not found]', async () => {
    const persistence = layer({
      config: { eventKeyJmesPath: 'key', throwOnNoIdempotencyKey: true },
    });
    await expect(
      asInvocation('owner', () => persistence.saveInProgress({ body: {} }, 10_000)),
    ).rejects.toBeInstanceOf(IdempotencyKeyError);
    expect(await rows()).toHaveLength(0);
  });

  it('answers repeated reads of a completed record from the local cache [BasePersistenceLayer › getRecord › uses the record from the local cache when called multiple times]', async () => {
    const persistence = layer({ config: { useLocalCache: true } });
    await asInvocation('owner', async () => {
      await persistence.saveInProgress(request, 10_000);
      await persistence.saveSuccess(request, { cached: true });
    });
    await db.pool.query('TRUNCATE idempotency_records');
    expect((await persistence.getRecord(request)).getResponse()).toEqual({ cached: true });
    await expect(
      asInvocation('second', () => persistence.saveInProgress(request, 10_000)),
    ).rejects.toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    expect(await rows()).toHaveLength(0);
  });
});

describe('the in-progress window', () => {
  it('without a Lambda context keeps the record in progress until it expires, as the DynamoDB layer does [BasePersistenceLayer › saveInProgress › logs a warning when unable to call remainingTimeInMillis() from the context]', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const persistence = layer({ inProgressWindowSeconds: undefined });
    await asInvocation('owner', () => persistence.saveInProgress(request));
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('registerLambdaContext'));
    warn.mockRestore();
    expect(await onlyRow()).toMatchObject({ status: 'INPROGRESS', in_progress_in: null });
    // However long the job runs, nobody takes it over before its retention ends.
    await expect(
      asInvocation('other', () => persistence.saveInProgress(request, 10_000)),
    ).rejects.toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    const existing = await persistence.getRecord(request);
    expect(existing.inProgressExpiryTimestamp).toBeUndefined();
  });

  it('without a Lambda context uses inProgressWindowWithoutContextSeconds when set', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const persistence = layer({
      inProgressWindowSeconds: undefined,
      inProgressWindowWithoutContextSeconds: 120,
    });
    await asInvocation('owner', () => persistence.saveInProgress(request));
    warn.mockRestore();
    const row = await onlyRow();
    expect(row.in_progress_in).toBeGreaterThan(119);
    expect(row.in_progress_in).toBeLessThanOrEqual(120);
  });

  it('with inProgressWindowSeconds set, ignores the Lambda remaining time', async () => {
    const persistence = layer({ inProgressWindowSeconds: 5 });
    await asInvocation('owner', () => persistence.saveInProgress(request, 600_000));
    expect((await onlyRow()).in_progress_in).toBeLessThanOrEqual(5);
  });

  it.each([
    ['inProgressWindowSeconds', 0],
    ['inProgressWindowSeconds', -1],
    ['inProgressWindowWithoutContextSeconds', 0],
    ['inProgressWindowWithoutContextSeconds', Number.NaN],
  ])('refuses %s = %s', (option, value) => {
    expect(() => new PostgresPersistenceLayer({ pool: db.pool, [option]: value })).toThrow(
      `${option} must be a positive number of seconds`,
    );
  });
});

describe('housekeeping', () => {
  it('deletes records whose retention has ended, in progress or completed, and nothing else', async () => {
    const persistence = layer();
    await asInvocation('a', async () => {
      await persistence.saveInProgress({ key: 'done', body: {} }, 10_000);
      await persistence.saveSuccess({ key: 'done', body: {} }, 'ok');
    });
    await asInvocation('b', () => persistence.saveInProgress({ key: 'crashed', body: {} }, 10_000));
    await asInvocation('c', () => persistence.saveInProgress({ key: 'live', body: {} }, 10_000));
    await db.pool.query(
      `UPDATE idempotency_records SET expires_at = now() - interval '1 second'
        WHERE id IN (SELECT id FROM idempotency_records ORDER BY created_at LIMIT 2)`,
    );
    expect(await persistence.deleteExpiredRecords()).toBe(2);
    expect(await rows()).toHaveLength(1);
  });

  it('rejects an unsafe table name', () => {
    expect(
      () => new PostgresPersistenceLayer({ pool: db.pool, tableName: 'records; DROP TABLE x' }),
    ).toThrow(/invalid idempotency table name/);
  });
});
