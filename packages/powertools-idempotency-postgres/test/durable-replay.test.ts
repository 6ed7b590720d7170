/**
 * Durable functions: the AWS durable execution SDK's local runner drives a real execution
 * (first invocation, suspension at a wait, replay invocation) over Powertools' makeIdempotent
 * and this layer on PostgreSQL. Each invocation runs in its own invocation store, as the
 * Lambda runtime runs it, so the replay holds none of the first invocation's claims.
 * Upstream cases named in brackets: packages/idempotency/tests/unit/durable.test.ts,
 * tests/unit/makeIdempotent.test.ts and tests/e2e/durableIdempotent.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { type DurableContext, withDurableExecution } from '@aws/durable-execution-sdk-js';
import { LocalDurableTestRunner } from '@aws/durable-execution-sdk-js-testing';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PostgresPersistenceLayer } from '../src/index.ts';
import { createPackageTestDatabase, type PackageTestDatabase } from './support/database.ts';
import { asInvocation } from './support/invocations.ts';

let db: PackageTestDatabase;

beforeAll(async () => {
  db = await createPackageTestDatabase();
  // Real time: with skipTime the runner may finish a short wait inside the first invocation,
  // and the replay this file is about would not happen.
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: false });
});
afterAll(async () => {
  await LocalDurableTestRunner.teardownTestEnvironment();
  await db.drop();
});
beforeEach(() => db.pool.query('TRUNCATE idempotency_records'));

interface Order {
  orderId: string;
}

type Mode = 'ExecutionMode' | 'ReplayMode';
const modeOf = (context: DurableContext) =>
  (context as unknown as { durableExecutionMode: Mode }).durableExecutionMode;

/**
 * A durable handler: makeIdempotent around work that waits 1 s, so the execution is suspended
 * and replayed. `beforeIdempotency` runs first in every invocation.
 */
function durableOrderHandler(options: {
  modes: Mode[];
  beforeIdempotency?: (mode: Mode) => Promise<void>;
  failOnReplay?: boolean;
}) {
  const persistenceStore = new PostgresPersistenceLayer({ pool: db.pool });
  const processOrder = makeIdempotent(
    async (order: Order, context: DurableContext) => {
      const mode = modeOf(context);
      options.modes.push(mode);
      await context.wait({ seconds: 1 });
      // After the wait the context is back in ExecutionMode: decide by the mode it started in.
      if (options.failOnReplay && mode === 'ReplayMode') {
        throw new Error('replay failed');
      }
      return { orderId: order.orderId, status: 'shipped' };
    },
    { persistenceStore, config: new IdempotencyConfig({ eventKeyJmesPath: 'orderId' }) },
  );
  const durable = withDurableExecution(async (order: Order, context: DurableContext) => {
    await options.beforeIdempotency?.(modeOf(context));
    return processOrder(order, context);
  });
  // The runtime gives every invocation its own invocation store; so does this wrapper.
  const perInvocation = (event: unknown, context: unknown) =>
    asInvocation(randomUUID(), () =>
      (durable as (event: unknown, context: unknown) => Promise<unknown>)(event, context),
    );
  return new LocalDurableTestRunner({
    handlerFunction: perInvocation as unknown as ConstructorParameters<
      typeof LocalDurableTestRunner
    >[0]['handlerFunction'],
  });
}

async function records() {
  const { rows } = await db.pool.query(
    'SELECT id, status, response, claim_token FROM idempotency_records',
  );
  return rows;
}

describe('durable execution replay', () => {
  it('completes the record when the replay finishes the work the first invocation claimed [durable.test.ts › allows an execution with a replay; makeIdempotent.test.ts › completes the existing record when the wrapped function mutates its input during a durable replay]', async () => {
    const modes: Mode[] = [];
    let firstClaimToken: string | undefined;
    const runner = durableOrderHandler({
      modes,
      beforeIdempotency: async (mode) => {
        if (mode === 'ReplayMode') firstClaimToken = (await records())[0]?.claim_token;
      },
    });

    const execution = await runner.run({ payload: { orderId: 'o-1' } });

    expect(execution.getStatus()).toBe('SUCCEEDED');
    expect(execution.getResult()).toEqual({ orderId: 'o-1', status: 'shipped' });
    // One claim in the first invocation, whose window was still open when the replay came.
    expect(modes).toEqual(['ExecutionMode', 'ReplayMode']);
    expect(firstClaimToken).toBeDefined();
    const [record, ...others] = await records();
    expect(others).toHaveLength(0);
    expect(record).toMatchObject({
      status: 'COMPLETED',
      response: { orderId: 'o-1', status: 'shipped' },
    });
    // The replay took the claim over with a token of its own.
    expect(record.claim_token).not.toBe(firstClaimToken);
  });

  it('answers a second execution with the same payload from the record [e2e durableIdempotent.test.ts › calls an idempotent durable function and always returns the same result when called multiple times]', async () => {
    const modes: Mode[] = [];
    const runner = durableOrderHandler({ modes });
    const first = await runner.run({ payload: { orderId: 'o-2' } });
    const second = await runner.run({ payload: { orderId: 'o-2' } });

    expect(second.getStatus()).toBe('SUCCEEDED');
    expect(second.getResult()).toEqual(first.getResult());
    expect(modes).toEqual(['ExecutionMode', 'ReplayMode']);
    expect(await records()).toHaveLength(1);
  });

  it('leaves a record another invocation completed meanwhile as it is [makeIdempotent.test.ts › passes isReplay=true to handler when durable context is in ReplayMode]', async () => {
    const modes: Mode[] = [];
    const other = new PostgresPersistenceLayer({ pool: db.pool });
    other.configure({ config: new IdempotencyConfig({ eventKeyJmesPath: 'orderId' }) });
    const runner = durableOrderHandler({
      modes,
      // While the execution waits, its claim lapses and another invocation completes the key.
      beforeIdempotency: async (mode) => {
        if (mode !== 'ReplayMode') return;
        await db.pool.query(
          `UPDATE idempotency_records SET in_progress_expires_at = now() - interval '1 second'`,
        );
        await asInvocation('other', async () => {
          await other.saveInProgress({ orderId: 'o-3' }, 60_000);
          await other.saveSuccess({ orderId: 'o-3' }, { orderId: 'o-3', by: 'other' });
        });
      },
    });

    const execution = await runner.run({ payload: { orderId: 'o-3' } });

    expect(execution.getStatus()).toBe('SUCCEEDED');
    expect(modes).toEqual(['ExecutionMode', 'ReplayMode']);
    expect(await records()).toEqual([
      expect.objectContaining({ status: 'COMPLETED', response: { orderId: 'o-3', by: 'other' } }),
    ]);
  });

  it("after adopting a claim another invocation took over, refuses that invocation's late completion [durable.test.ts › allows an execution with a replay (takeover during the wait)]", async () => {
    const modes: Mode[] = [];
    const other = new PostgresPersistenceLayer({ pool: db.pool });
    other.configure({ config: new IdempotencyConfig({ eventKeyJmesPath: 'orderId' }) });
    let otherFinishes: (() => Promise<void>) | undefined;
    const runner = durableOrderHandler({
      modes,
      beforeIdempotency: async (mode) => {
        if (mode !== 'ReplayMode') return;
        await db.pool.query(
          `UPDATE idempotency_records SET in_progress_expires_at = now() - interval '1 second'`,
        );
        await asInvocation('other', () => other.saveInProgress({ orderId: 'o-4' }, 60_000));
        otherFinishes = () =>
          asInvocation('other', () => other.saveSuccess({ orderId: 'o-4' }, { by: 'other' }));
      },
    });

    const execution = await runner.run({ payload: { orderId: 'o-4' } });

    expect(execution.getStatus()).toBe('SUCCEEDED');
    expect(otherFinishes).toBeDefined();
    await expect(otherFinishes?.()).rejects.toThrow(/taken over/);
    expect(await records()).toEqual([
      expect.objectContaining({
        status: 'COMPLETED',
        response: { orderId: 'o-4', status: 'shipped' },
      }),
    ]);
  });

  it('leaves the record in progress when the replay fails, for its window to lapse (difference) [makeIdempotent.test.ts › deletes the existing record when the wrapped function mutates its input and throws during a durable replay]', async () => {
    const modes: Mode[] = [];
    let firstClaimToken: string | undefined;
    const runner = durableOrderHandler({
      modes,
      failOnReplay: true,
      beforeIdempotency: async (mode) => {
        if (mode === 'ReplayMode') firstClaimToken = (await records())[0]?.claim_token;
      },
    });

    const execution = await runner.run({ payload: { orderId: 'o-5' } });

    expect(execution.getStatus()).toBe('FAILED');
    expect(modes).toEqual(['ExecutionMode', 'ReplayMode']);
    expect(await records()).toEqual([
      expect.objectContaining({ status: 'INPROGRESS', claim_token: firstClaimToken }),
    ]);
  });
});
