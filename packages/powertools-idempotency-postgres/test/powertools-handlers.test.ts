/**
 * Powertools' own wrappers (makeIdempotent, and makeHandlerIdempotent for middy) over this layer
 * on real PostgreSQL. Each test names the upstream case it mirrors in brackets: the TypeScript
 * repository's packages/idempotency/tests/unit/{makeIdempotent,IdempotencyHandler}.test.ts and
 * tests/e2e/makeHandlerIdempotent.test.ts. BEHAVIOUR.md tabulates them with their results.
 */
import { createHash } from 'node:crypto';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { makeHandlerIdempotent } from '@aws-lambda-powertools/idempotency/middleware';
import type { IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PostgresPersistenceLayer } from '../src/index.ts';
import { createPackageTestDatabase, type PackageTestDatabase } from './support/database.ts';
import { asInvocation, lambdaContext } from './support/invocations.ts';

let db: PackageTestDatabase;

beforeAll(async () => {
  db = await createPackageTestDatabase();
});
afterAll(() => db.drop());
beforeEach(async () => {
  vi.unstubAllEnvs();
  await db.pool.query('TRUNCATE idempotency_records');
});

type Event = { foo: string; invocation?: number };
type IdempotencyConfigOptions = ConstructorParameters<typeof IdempotencyConfig>[0];
type Kind = 'wrapper' | 'middleware';
const KINDS: { type: Kind }[] = [{ type: 'wrapper' }, { type: 'middleware' }];
const event: Event = { foo: 'bar' };

interface Setup {
  config?: IdempotencyConfigOptions;
  keyPrefix?: string;
  work?: (event: Event) => Promise<unknown>;
}

/** A handler made idempotent the way `type` says, and a count of how often its body ran. */
function idempotentHandler(type: Kind, setup: Setup = {}) {
  const persistenceStore = new PostgresPersistenceLayer({ pool: db.pool });
  const calls: Event[] = [];
  const body = async (received: Event, _context: Context) => {
    calls.push(received);
    return setup.work ? setup.work(received) : received.foo;
  };
  const options = {
    persistenceStore,
    config: new IdempotencyConfig({ ...setup.config }),
    ...(setup.keyPrefix ? { keyPrefix: setup.keyPrefix } : {}),
  };
  const handler =
    type === 'wrapper'
      ? makeIdempotent(body, options)
      : middy(body).use(makeHandlerIdempotent(options));
  const invoke = (received: Event, requestId = `req-${Math.random()}`, remainingMs = 30_000) =>
    asInvocation(requestId, () =>
      (handler as (event: Event, context: Context) => Promise<unknown>)(
        received,
        lambdaContext(remainingMs, requestId),
      ),
    );
  return { invoke, calls, persistenceStore };
}

async function rows() {
  const { rows } = await db.pool.query(
    `SELECT id, status, response, claim_token,
            extract(epoch FROM in_progress_expires_at - now())::float8 AS in_progress_in
       FROM idempotency_records ORDER BY created_at`,
  );
  return rows;
}

const md5 = (value: unknown) => createHash('md5').update(JSON.stringify(value)).digest('base64');

describe.each(KINDS)('$type', ({ type }) => {
  it('runs the handler once and stores its response [makeIdempotent.test.ts › handles a successful execution ($type)]', async () => {
    const { invoke, calls } = idempotentHandler(type);
    expect(await invoke(event)).toBe('bar');
    expect(calls).toHaveLength(1);
    expect(await rows()).toEqual([
      expect.objectContaining({ status: 'COMPLETED', response: 'bar' }),
    ]);
  });

  it('releases the key when the handler throws, so a retry runs it again [makeIdempotent.test.ts › handles an execution that throws an error ($type)]', async () => {
    let fail = true;
    const { invoke, calls } = idempotentHandler(type, {
      work: async (received) => {
        if (fail) throw new Error('Something went wrong');
        return received.foo;
      },
    });
    await expect(invoke(event)).rejects.toThrow('Something went wrong');
    expect(await rows()).toHaveLength(0);
    fail = false;
    expect(await invoke(event)).toBe('bar');
    expect(calls).toHaveLength(2);
  });

  it('answers a repeated request from the stored response [makeIdempotent.test.ts › returns the stored response if the operation has already been performed ($type); e2e makeHandlerIdempotent.test.ts › when called twice with the same payload, it returns the same result and runs the handler once]', async () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'payments-fn');
    const { invoke, calls } = idempotentHandler(type, { work: async () => ({ n: Math.random() }) });
    const first = await invoke(event);
    expect(await invoke(event)).toEqual(first);
    expect(calls).toHaveLength(1);
    expect(await rows()).toEqual([
      expect.objectContaining({
        id: `payments-fn#${md5(event)}`,
        status: 'COMPLETED',
        response: first,
      }),
    ]);
  });

  it('runs the handler once for concurrent identical requests; the others are told it is in progress [e2e makeHandlerIdempotent.test.ts › when two identical requests are sent in parallel, the handler is called only once]', async () => {
    let finish: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const { invoke, calls } = idempotentHandler(type, {
      work: async (received) => {
        await running;
        return received.foo;
      },
    });
    const first = invoke(event, 'first');
    await expect.poll(() => calls.length).toBe(1);
    const others = await Promise.allSettled([invoke(event, 'second'), invoke(event, 'third')]);
    finish();
    expect(await first).toBe('bar');
    for (const other of others) {
      expect(other.status).toBe('rejected');
      expect((other as PromiseRejectedResult).reason).toBeInstanceOf(
        IdempotencyAlreadyInProgressError,
      );
    }
    expect(calls).toHaveLength(1);
    expect(await rows()).toEqual([
      expect.objectContaining({ status: 'COMPLETED', response: 'bar' }),
    ]);
  });

  it('lets the next request take over from an invocation that timed out [e2e makeHandlerIdempotent.test.ts › when the function times out, the second request is processed correctly by the handler]', async () => {
    let timeout: () => void = () => {};
    const timedOut = new Promise<void>((resolve) => {
      timeout = resolve;
    });
    const { invoke, calls } = idempotentHandler(type, {
      config: { eventKeyJmesPath: 'foo' },
      work: async (received) => {
        if (received.invocation === 0) await timedOut;
        return received;
      },
    });
    // The first invocation claims the key with 2 s left, then hangs past its timeout.
    const first = invoke({ foo: 'bar', invocation: 0 }, 'timed-out', 2_000);
    await expect.poll(() => calls.length).toBe(1);
    expect((await rows())[0].in_progress_in).toBeLessThanOrEqual(2);
    await db.pool.query(
      `UPDATE idempotency_records SET in_progress_expires_at = now() - interval '1 millisecond'`,
    );
    expect(await invoke({ foo: 'bar', invocation: 1 })).toEqual({ foo: 'bar', invocation: 1 });
    // Were the timed-out invocation still alive, its completion would not overwrite the record.
    timeout();
    await expect(first).rejects.toThrow('Failed to update success record');
    expect(calls).toHaveLength(2);
    expect(await rows()).toEqual([
      expect.objectContaining({
        id: `#${md5('bar')}`,
        status: 'COMPLETED',
        response: { foo: 'bar', invocation: 1 },
      }),
    ]);
  });

  it('runs the handler again once the record has expired [e2e makeHandlerIdempotent.test.ts › when the idempotency record is expired, the second request is processed correctly by the handler]', async () => {
    const { invoke, calls } = idempotentHandler(type, {
      config: { eventKeyJmesPath: 'foo', expiresAfterSeconds: 1 },
      work: async (received) => received,
    });
    await invoke({ foo: 'bar', invocation: 0 });
    await db.pool.query(`UPDATE idempotency_records SET expires_at = now() - interval '1 second'`);
    expect(await invoke({ foo: 'bar', invocation: 1 })).toEqual({ foo: 'bar', invocation: 1 });
    expect(calls).toHaveLength(2);
    expect(await rows()).toEqual([
      expect.objectContaining({ status: 'COMPLETED', response: { foo: 'bar', invocation: 1 } }),
    ]);
  });

  it('writes nothing for an event without a key when throwOnNoIdempotencyKey is false [makeIdempotent.test.ts › skips idempotency if no idempotency key is provided and throwOnNoIdempotencyKey is false ($type)]', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { invoke, calls } = idempotentHandler(type, {
      config: { eventKeyJmesPath: 'idempotencyKey', throwOnNoIdempotencyKey: false },
    });
    await invoke(event);
    await invoke(event);
    warn.mockRestore();
    expect(calls).toHaveLength(2);
    expect(await rows()).toHaveLength(0);
  });

  it('keys records by the keyPrefix given to the wrapper [makeIdempotent.test.ts › passes keyPrefix correctly in idempotency handler ($type)]', async () => {
    const { invoke } = idempotentHandler(type, { keyPrefix: 'my-custom-prefix' });
    await invoke(event);
    expect((await rows())[0].id).toBe(`my-custom-prefix#${md5(event)}`);
  });

  it('does nothing when idempotency is disabled [makeIdempotent.test.ts › does not do anything if idempotency is disabled ($type)]', async () => {
    vi.stubEnv('POWERTOOLS_IDEMPOTENCY_DISABLED', 'true');
    const { invoke, calls } = idempotentHandler(type);
    await invoke(event);
    await invoke(event);
    expect(calls).toHaveLength(2);
    expect(await rows()).toHaveLength(0);
  });

  it('passes a stored response through responseHook on a replay, leaving the record as stored [IdempotencyHandler.test.ts › when response hook is provided, it can manipulate response during an idempotent request]', async () => {
    const { invoke } = idempotentHandler(type, {
      work: async () => ({ message: 'Original message', statusCode: 200 }),
      config: {
        responseHook: (response, record: IdempotencyRecord) => ({
          ...(response as object),
          headers: { 'x-idempotency-key': record.idempotencyKey },
        }),
      },
    });
    expect(await invoke(event)).toEqual({ message: 'Original message', statusCode: 200 });
    expect(await invoke(event)).toEqual({
      message: 'Original message',
      statusCode: 200,
      headers: { 'x-idempotency-key': `#${md5(event)}` },
    });
    expect((await rows())[0].response).toEqual({ message: 'Original message', statusCode: 200 });
  });

  it('answers a replay from the record the refused claim returned, without reading it again [IdempotencyHandler.test.ts › when IdempotencyAlreadyInProgressError is thrown and it contains the existing item, it returns it directly]', async () => {
    const { invoke, persistenceStore } = idempotentHandler(type);
    await invoke(event);
    const getRecord = vi.spyOn(persistenceStore, 'getRecord');
    expect(await invoke(event)).toBe('bar');
    expect(getRecord).not.toHaveBeenCalled();
  });

  it('uses the Lambda remaining time as the in-progress window [BasePersistenceLayer.test.ts › saveInProgress › calls the _putRecord method with the correct arguments]', async () => {
    let windowSeen: number | undefined;
    const { invoke } = idempotentHandler(type, {
      work: async () => {
        windowSeen = (await rows())[0].in_progress_in;
        return 'ok';
      },
    });
    await invoke(event, 'owner', 8_000);
    expect(windowSeen).toBeGreaterThan(7);
    expect(windowSeen).toBeLessThanOrEqual(8);
  });
});

describe('makeIdempotent around an arbitrary function', () => {
  it('keys the record by the first argument [makeIdempotent.test.ts › uses the first argument when when wrapping an arbitrary function]', async () => {
    const persistenceStore = new PostgresPersistenceLayer({ pool: db.pool });
    const config = new IdempotencyConfig({});
    config.registerLambdaContext(lambdaContext(30_000));
    const fn = makeIdempotent(async (foo: { bar: string }, baz: string) => `${foo.bar}${baz}`, {
      persistenceStore,
      config,
    });
    expect(await asInvocation('a', () => fn({ bar: '123' }, '456'))).toBe('123456');
    expect(await rows()).toEqual([
      expect.objectContaining({ id: `#${md5({ bar: '123' })}`, response: '123456' }),
    ]);
  });

  it('keys the record by the argument dataIndexArgument names [makeIdempotent.test.ts › uses the specified argument as payload when wrapping an arbitrary function]', async () => {
    const persistenceStore = new PostgresPersistenceLayer({ pool: db.pool });
    const config = new IdempotencyConfig({});
    config.registerLambdaContext(lambdaContext(30_000));
    const fn = makeIdempotent(async (foo: { bar: string }, baz: string) => `${foo.bar}${baz}`, {
      persistenceStore,
      config,
      dataIndexArgument: 1,
    });
    expect(await asInvocation('a', () => fn({ bar: '123' }, '456'))).toBe('123456');
    expect(await rows()).toEqual([
      expect.objectContaining({ id: `#${md5('456')}`, response: '123456' }),
    ]);
  });
});

describe('makeHandlerIdempotent among other middlewares', () => {
  const fail = () => {
    throw new Error('Something went wrong');
  };

  it('keeps the record of a concurrent execution when rejecting a duplicate request [makeIdempotent.test.ts › keeps the record of a concurrent execution when rejecting a duplicate request (middleware)]', async () => {
    const persistenceStore = new PostgresPersistenceLayer({ pool: db.pool });
    const handler = middy(async (received: Event) => received.foo).use(
      makeHandlerIdempotent({ persistenceStore }),
    );
    await asInvocation('owner', () => persistenceStore.saveInProgress(event, 30_000));
    const [owner] = await rows();
    await expect(
      asInvocation('duplicate', () => handler(event, lambdaContext(30_000))),
    ).rejects.toBeInstanceOf(IdempotencyAlreadyInProgressError);
    expect(await rows()).toEqual([
      expect.objectContaining({ status: 'INPROGRESS', claim_token: owner.claim_token }),
    ]);
  });

  it('keeps the completed record when rejecting a request with a different payload [makeIdempotent.test.ts › keeps the completed record when rejecting a request with a different payload (middleware)]', async () => {
    const persistenceStore = new PostgresPersistenceLayer({ pool: db.pool });
    const handler = middy(async (received: Event) => received.foo).use(
      makeHandlerIdempotent({
        persistenceStore,
        config: new IdempotencyConfig({
          eventKeyJmesPath: 'foo',
          payloadValidationJmesPath: 'invocation',
        }),
      }),
    );
    const invoke = (received: Event) =>
      asInvocation(`req-${Math.random()}`, () => handler(received, lambdaContext(30_000)));
    await invoke({ foo: 'bar', invocation: 1 });
    await expect(invoke({ foo: 'bar', invocation: 2 })).rejects.toBeInstanceOf(
      IdempotencyValidationError,
    );
    expect(await rows()).toEqual([
      expect.objectContaining({ status: 'COMPLETED', response: 'bar' }),
    ]);
  });

  it('writes nothing when an earlier middleware fails [makeIdempotent.test.ts › handles an execution that throws an early middleware error (middleware)]', async () => {
    const persistenceStore = new PostgresPersistenceLayer({ pool: db.pool });
    const handler = middy(async (received: Event) => received.foo)
      .use({ before: fail })
      .use(makeHandlerIdempotent({ persistenceStore }));
    await expect(asInvocation('a', () => handler(event, lambdaContext(30_000)))).rejects.toThrow(
      'Something went wrong',
    );
    expect(await rows()).toHaveLength(0);
  });

  it('releases the key when a later middleware fails before the handler runs [makeIdempotent.test.ts › deletes the record when a later middleware fails before the handler runs (middleware)]', async () => {
    const persistenceStore = new PostgresPersistenceLayer({ pool: db.pool });
    const handler = middy(async (received: Event) => received.foo)
      .use(makeHandlerIdempotent({ persistenceStore }))
      .use({ before: fail });
    await expect(asInvocation('a', () => handler(event, lambdaContext(30_000)))).rejects.toThrow(
      'Something went wrong',
    );
    expect(await rows()).toHaveLength(0);
  });

  it('keeps the completed record when a later middleware fails after the result was saved [makeIdempotent.test.ts › keeps the completed record when a later middleware fails after the result was saved (middleware)]', async () => {
    const persistenceStore = new PostgresPersistenceLayer({ pool: db.pool });
    const handler = middy(async (received: Event) => received.foo)
      .use({ after: fail })
      .use(makeHandlerIdempotent({ persistenceStore }));
    await expect(asInvocation('a', () => handler(event, lambdaContext(30_000)))).rejects.toThrow(
      'Something went wrong',
    );
    expect(await rows()).toEqual([
      expect.objectContaining({ status: 'COMPLETED', response: 'bar' }),
    ]);
  });
});
