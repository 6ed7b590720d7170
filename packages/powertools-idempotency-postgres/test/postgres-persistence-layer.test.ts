import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import {
  IdempotencyConfig,
  IdempotencyItemAlreadyExistsError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  IdempotencyClaimLostError,
  PostgresPersistenceLayer,
} from '../../functions/idempotency/postgres-persistence-layer.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
let store: InvokeStoreBase;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await InvokeStore.getInstanceAsync(true);
});
afterAll(() => db.drop());
beforeEach(() => db.pool.query('TRUNCATE idempotency_records'));

function layer(options: { inProgressWindowSeconds?: number; ttlSeconds?: number } = {}) {
  const persistence = new PostgresPersistenceLayer({
    pool: db.pool,
    inProgressWindowSeconds: options.inProgressWindowSeconds ?? 30,
  });
  persistence.configure({
    config: new IdempotencyConfig({
      eventKeyJmesPath: 'key',
      payloadValidationJmesPath: 'body',
      hashFunction: 'sha256',
      expiresAfterSeconds: options.ttlSeconds ?? 3600,
    }),
  });
  return persistence;
}

/** Runs `work` as one Lambda invocation, with its own invocation store (claim tokens). */
function asInvocation<T>(requestId: string, work: () => Promise<T>): Promise<T> {
  return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, work);
}

async function recordRow(key: string) {
  const { rows } = await db.pool.query(
    `SELECT status, response, claim_token,
            extract(epoch FROM expires_at - now()) AS expires_in,
            extract(epoch FROM in_progress_expires_at - now()) AS in_progress_in
       FROM idempotency_records WHERE id LIKE '%' || $1`,
    [key],
  );
  return rows;
}

/** Moves the in-progress deadline into the past: the owner is presumed dead. */
async function lapseInProgressWindow(): Promise<void> {
  await db.pool.query(
    `UPDATE idempotency_records SET in_progress_expires_at = now() - interval '1 second'`,
  );
}

describe('PostgresPersistenceLayer', () => {
  const request = { key: 'k1', body: { amount: 1 } };

  it('lets exactly one of many concurrent invocations claim a key', async () => {
    const persistence = layer();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        asInvocation(`r${i}`, () => persistence.saveInProgress(request, 10_000)),
      ),
    );
    const claimed = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter((result) => result.status === 'rejected');
    expect(claimed).toHaveLength(1);
    expect(refused).toHaveLength(19);
    for (const refusal of refused) {
      const error = (refusal as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(IdempotencyItemAlreadyExistsError);
      expect(error.existingRecord?.getStatus()).toBe('INPROGRESS');
    }
    expect(await db.pool.query('SELECT count(*)::int AS n FROM idempotency_records')).toMatchObject(
      { rows: [{ n: 1 }] },
    );
  });

  it('returns the completed response to a later caller', async () => {
    const persistence = layer();
    await asInvocation('first', async () => {
      await persistence.saveInProgress(request, 10_000);
      await persistence.saveSuccess(request, { statusCode: 201, body: '{"id":"c1"}' });
    });
    const record = await persistence.getRecord(request);
    expect(record.getStatus()).toBe('COMPLETED');
    expect(record.getResponse()).toEqual({ statusCode: 201, body: '{"id":"c1"}' });
  });

  it('refuses the same key with a different payload', async () => {
    const persistence = layer();
    await asInvocation('first', () => persistence.saveInProgress(request, 10_000));
    await expect(persistence.getRecord({ key: 'k1', body: { amount: 2 } })).rejects.toBeInstanceOf(
      IdempotencyValidationError,
    );
  });

  it('refuses a second claim inside the window and allows a takeover with a new token after it', async () => {
    const persistence = layer();
    await asInvocation('original', () => persistence.saveInProgress(request, 10_000));
    const [original] = await recordRow('');
    await expect(
      asInvocation('early', () => persistence.saveInProgress(request, 10_000)),
    ).rejects.toBeInstanceOf(IdempotencyItemAlreadyExistsError);
    await lapseInProgressWindow();
    await asInvocation('takeover', () => persistence.saveInProgress(request, 10_000));
    const [afterTakeover] = await recordRow('');
    expect(afterTakeover.claim_token).not.toBe(original.claim_token);
    expect(Number(afterTakeover.in_progress_in)).toBeGreaterThan(29);
  });

  it('rejects a late completion by the original invocation itself after a takeover', async () => {
    const persistence = layer();
    // One invocation context for the original, kept across the takeover, as a slow handler would.
    await asInvocation('original', async () => {
      await persistence.saveInProgress(request, 10_000);
      await lapseInProgressWindow();
      await asInvocation('takeover', () => persistence.saveInProgress(request, 10_000));
      await expect(
        persistence.saveSuccess(request, { body: 'late original' }),
      ).rejects.toBeInstanceOf(IdempotencyClaimLostError);
    });
    expect((await recordRow(''))[0]).toMatchObject({ status: 'INPROGRESS', response: null });
  });

  it('lets the new owner complete after a takeover while the original fails', async () => {
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
    await expect.poll(async () => (await recordRow('')).length).toBe(1);
    await lapseInProgressWindow();
    await asInvocation('takeover', async () => {
      await persistence.saveInProgress(request, 10_000);
      await persistence.saveSuccess(request, { body: 'takeover' });
    });
    releaseOriginal();
    await expect(original).rejects.toBeInstanceOf(IdempotencyClaimLostError);
    expect((await recordRow(''))[0]).toMatchObject({
      status: 'COMPLETED',
      response: { body: 'takeover' },
    });
  });

  it('never deletes a record it does not own (a 409 must not release the owner)', async () => {
    const persistence = layer();
    await asInvocation('owner', () => persistence.saveInProgress(request, 10_000));
    await asInvocation('refused', async () => {
      await expect(persistence.saveInProgress(request, 10_000)).rejects.toBeInstanceOf(
        IdempotencyItemAlreadyExistsError,
      );
      await persistence.deleteRecord(request);
    });
    expect(await recordRow('')).toHaveLength(1);
  });

  it('lets the owner release its claim after a failure, so a retry can claim again', async () => {
    const persistence = layer();
    await asInvocation('owner', async () => {
      await persistence.saveInProgress(request, 10_000);
      await persistence.deleteRecord(request);
    });
    expect(await recordRow('')).toHaveLength(0);
    await asInvocation('retry', () => persistence.saveInProgress(request, 10_000));
    expect(await recordRow('')).toHaveLength(1);
  });

  it('computes windows and retention on the database clock', async () => {
    const persistence = layer({ inProgressWindowSeconds: 45, ttlSeconds: 7200 });
    await asInvocation('owner', () => persistence.saveInProgress(request, 10_000));
    const [row] = await recordRow('');
    expect(Number(row.in_progress_in)).toBeGreaterThan(44);
    expect(Number(row.in_progress_in)).toBeLessThanOrEqual(45);
    expect(Number(row.expires_in)).toBeGreaterThan(7199);
  });

  it('uses the Lambda remaining time as the window when none is configured', async () => {
    const persistence = new PostgresPersistenceLayer({ pool: db.pool });
    persistence.configure({ config: new IdempotencyConfig({ eventKeyJmesPath: 'key' }) });
    await asInvocation('owner', () => persistence.saveInProgress(request, 8_000));
    const [row] = await recordRow('');
    expect(Number(row.in_progress_in)).toBeGreaterThan(7);
    expect(Number(row.in_progress_in)).toBeLessThanOrEqual(8);
  });

  it('treats a record past its retention as new, and cleans expired records up', async () => {
    const persistence = layer();
    await asInvocation('old', async () => {
      await persistence.saveInProgress(request, 10_000);
      await persistence.saveSuccess(request, { body: 'old' });
    });
    await db.pool.query(`UPDATE idempotency_records SET expires_at = now() - interval '1 second'`);
    expect((await persistence.getRecord(request)).getStatus()).toBe('EXPIRED');

    await asInvocation('new', () => persistence.saveInProgress({ key: 'k2', body: {} }, 10_000));
    await db.pool.query(
      `UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE status = 'COMPLETED'`,
    );
    expect(await persistence.deleteExpiredRecords()).toBe(1);
    expect(await db.pool.query('SELECT count(*)::int AS n FROM idempotency_records')).toMatchObject(
      { rows: [{ n: 1 }] },
    );

    await asInvocation('again', () => persistence.saveInProgress(request, 10_000));
    expect(await db.pool.query('SELECT count(*)::int AS n FROM idempotency_records')).toMatchObject(
      { rows: [{ n: 2 }] },
    );
  });

  it('rejects an unsafe table name', () => {
    expect(
      () =>
        new PostgresPersistenceLayer({ pool: db.pool, tableName: 'records; DROP TABLE charges' }),
    ).toThrow(/invalid idempotency table name/);
  });
});
