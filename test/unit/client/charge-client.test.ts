import { describe, expect, it } from 'vitest';
import {
  type AttemptRecord,
  ChargeClient,
  type ChargeClientOptions,
  ChargeNetworkError,
  DeadlineExceededError,
  RetryBudget,
  RetryBudgetExhaustedError,
} from '../../../client/index.ts';

const INPUT = { amount: 1000, currency: 'EUR', customerId: 'c1', description: 'Café ☕' };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** One scripted answer: an HTTP response, a refused/reset connection, or no answer at all. */
type Step =
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | 'network-error'
  | 'hang';

interface SentRequest {
  url: string;
  headers: Headers;
  body: Uint8Array;
}

/**
 * A fetch that plays `steps` in order (the last one repeats) and records what was sent; a
 * fake clock that only `sleep` advances, so backoff and deadlines are checked exactly.
 */
function harness(steps: Step[], options: Partial<ChargeClientOptions> = {}) {
  const sent: SentRequest[] = [];
  const sleeps: number[] = [];
  const records: AttemptRecord[] = [];
  const lines: string[] = [];
  let now = 0;
  const fakeFetch = async (url: string | URL | Request, init?: RequestInit) => {
    sent.push({
      url: String(url),
      headers: new Headers(init?.headers),
      body: new Uint8Array(init?.body as Uint8Array),
    });
    const step = steps[Math.min(sent.length - 1, steps.length - 1)];
    if (step === undefined) throw new Error('no steps');
    if (step === 'network-error') {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      });
    }
    if (step === 'hang') {
      const signal = init?.signal;
      return new Promise<Response>((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    return new Response(step.body === undefined ? null : JSON.stringify(step.body), {
      status: step.status,
      headers: step.headers ?? {},
    });
  };
  const client = new ChargeClient({
    baseUrl: 'http://127.0.0.1:9/stage/',
    apiKey: 'test-key',
    random: () => 0.5,
    fetch: fakeFetch as typeof fetch,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    onAttempt: (record) => records.push(record),
    transcript: (line) => lines.push(line),
    ...options,
  });
  return { client, sent, sleeps, records, lines };
}

const created = { status: 201, body: { id: 'ch_1', amount: 1000 } };
const unavailable = { status: 503, body: { type: '/problems/unavailable', status: 503 } };

describe('ChargeClient: one key, one body', () => {
  it('sends the same UUID v4 key and byte-identical body on every attempt', async () => {
    const { client, sent } = harness([unavailable, 'network-error', created]);
    const result = await client.createCharge(INPUT);

    expect(result).toMatchObject({ ok: true, status: 201, attempts: 3, replayed: false });
    expect(result.idempotencyKey).toMatch(UUID_V4);
    expect(sent).toHaveLength(3);
    for (const request of sent) {
      expect(request.url).toBe('http://127.0.0.1:9/stage/charge');
      expect(request.headers.get('idempotency-key')).toBe(result.idempotencyKey);
      expect(request.headers.get('x-api-key')).toBe('test-key');
      expect(request.headers.get('content-type')).toBe('application/json');
      expect(Buffer.from(request.body).equals(Buffer.from(sent[0]?.body ?? []))).toBe(true);
    }
    expect(JSON.parse(Buffer.from(sent[0]?.body ?? []).toString('utf8'))).toEqual(INPUT);
  });

  it('uses a new key for each logical charge and the caller key when given', async () => {
    const { client, sent } = harness([created]);
    const first = await client.createCharge(INPUT);
    const second = await client.createCharge(INPUT);
    const third = await client.createCharge(INPUT, { idempotencyKey: 'order-42' });
    expect(first.idempotencyKey).not.toBe(second.idempotencyKey);
    expect(third.idempotencyKey).toBe('order-42');
    expect(sent[2]?.headers.get('idempotency-key')).toBe('order-42');
  });

  it('refuses a key the API would reject before sending anything', async () => {
    const { client, sent } = harness([created]);
    await expect(client.createCharge(INPUT, { idempotencyKey: 'has space' })).rejects.toThrow(
      TypeError,
    );
    await expect(client.createCharge(INPUT, { idempotencyKey: '' })).rejects.toThrow(TypeError);
    expect(sent).toHaveLength(0);
  });

  it('reports a replay from the Idempotent-Replayed header', async () => {
    const { client } = harness([{ ...created, headers: { 'Idempotent-Replayed': 'true' } }]);
    const result = await client.createCharge(INPUT);
    expect(result.replayed).toBe(true);
    expect(result.body).toEqual(created.body);
    expect(result.headers['idempotent-replayed']).toBe('true');
  });
});

describe('ChargeClient: what is retried', () => {
  it.each([408, 409, 429, 500, 502, 503, 504])('retries a %i with the same key', async (status) => {
    const { client, sent } = harness([{ status }, created]);
    const result = await client.createCharge(INPUT);
    expect(result).toMatchObject({ status: 201, attempts: 2 });
    expect(sent).toHaveLength(2);
  });

  it.each([400, 401, 403, 404, 413, 415, 422])('returns a %i after one attempt', async (status) => {
    const problem = { type: `/problems/${status}`, title: 'No', status };
    const { client, sent, sleeps } = harness([{ status, body: problem }, created]);
    const result = await client.createCharge(INPUT);
    expect(result).toMatchObject({ ok: false, status, attempts: 1, body: problem });
    expect(sent).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('returns the last retryable answer once maxAttempts are used', async () => {
    const { client, sent } = harness([unavailable], { maxAttempts: 4 });
    const result = await client.createCharge(INPUT);
    expect(result).toMatchObject({ ok: false, status: 503, attempts: 4, body: unavailable.body });
    expect(sent).toHaveLength(4);
  });

  it('retries network errors and throws ChargeNetworkError, with the key, after the last', async () => {
    const { client, sent } = harness(['network-error']);
    const error = await client.createCharge(INPUT).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChargeNetworkError);
    const networkError = error as ChargeNetworkError;
    expect(networkError).toMatchObject({ attempts: 3, timedOut: false });
    expect(networkError.idempotencyKey).toBe(sent[0]?.headers.get('idempotency-key'));
    expect(networkError.message).toContain('ECONNRESET');
    expect(client.metrics.snapshot().http_request_outcome.network).toBe(3);
  });

  it('gives each attempt its own timeout and retries a timed-out attempt', async () => {
    // Real timers: the per-attempt timeout is an AbortSignal.timeout.
    const { client, sent } = harness(['hang', created], { perAttemptTimeoutMs: 20 });
    const result = await client.createCharge(INPUT);
    expect(result).toMatchObject({ status: 201, attempts: 2 });
    expect(sent).toHaveLength(2);
    expect(client.metrics.snapshot().http_request_outcome).toMatchObject({ timeout: 1, '2xx': 1 });
  });

  it('throws a timed-out ChargeNetworkError when the last attempt times out', async () => {
    const { client } = harness(['hang'], { perAttemptTimeoutMs: 15, maxAttempts: 2 });
    const error = await client.createCharge(INPUT).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChargeNetworkError);
    expect(error).toMatchObject({ timedOut: true, attempts: 2 });
  });
});

describe('ChargeClient: backoff', () => {
  it('waits a full-jitter delay that doubles its window each retry, up to the cap', async () => {
    const { client, sleeps } = harness([unavailable], {
      maxAttempts: 7,
      baseDelayMs: 100,
      capDelayMs: 1_000,
      random: () => 0.5,
    });
    await client.createCharge(INPUT);
    expect(sleeps).toEqual([50, 100, 200, 400, 500, 500]);
  });

  it('never waits the window edge: the largest draw stays below min(cap, base * 2^n)', async () => {
    const { client, sleeps } = harness([unavailable], {
      maxAttempts: 6,
      baseDelayMs: 100,
      capDelayMs: 1_000,
      random: () => 0.999_999,
    });
    await client.createCharge(INPUT);
    expect(sleeps).toEqual([99, 199, 399, 799, 999]);
  });

  it('can retry immediately when the draw is 0 (full jitter, not equal jitter)', async () => {
    const { client, sleeps } = harness([unavailable], { random: () => 0 });
    await client.createCharge(INPUT);
    expect(sleeps).toEqual([0, 0]);
  });

  it('waits Retry-After plus full jitter over a Retry-After-wide window, and records both parts', async () => {
    const { client, sleeps, records } = harness([
      { status: 503, headers: { 'Retry-After': '2' } },
      created,
    ]);
    await client.createCharge(INPUT);
    // random() = 0.5 of a 2 s window on top of the 2 s floor.
    expect(sleeps).toEqual([3_000]);
    expect(records[0]).toMatchObject({
      retryAfter: '2',
      retryAfterMs: 2_000,
      jitterMs: 1_000,
      nextDelayMs: 3_000,
    });
    expect(records[1]).toMatchObject({ attempt: 2, delayMs: 3_000 });
  });

  it('jitters over the backoff window on top of Retry-After when that window is wider', async () => {
    const { client, sleeps } = harness(
      [{ status: 429, headers: { 'Retry-After': '1' } }, created],
      {
        baseDelayMs: 8_000,
        capDelayMs: 8_000,
      },
    );
    await client.createCharge(INPUT);
    expect(sleeps).toEqual([1_000 + 4_000]);
  });

  it('honours an HTTP-date Retry-After, measured against the server Date header', async () => {
    const { client, sleeps } = harness([
      {
        status: 503,
        headers: {
          Date: 'Sun, 06 Nov 1994 08:49:37 GMT',
          'Retry-After': 'Sun, 06 Nov 1994 08:49:40 GMT',
        },
      },
      created,
    ]);
    await client.createCharge(INPUT);
    expect(sleeps).toEqual([3_000 + 1_500]);
  });

  it('honours Retry-After on a 409 (the same key still in flight)', async () => {
    const { client, sleeps } = harness([{ status: 409, headers: { 'Retry-After': '1' } }, created]);
    const result = await client.createCharge(INPUT);
    expect(result.status).toBe(201);
    expect(sleeps).toEqual([1_000 + 500]);
  });
});

describe('ChargeClient: deadline', () => {
  it('fails fast when Retry-After would take it past the deadline, without sleeping', async () => {
    const { client, sent, sleeps, records } = harness(
      [{ status: 503, headers: { 'Retry-After': '10' } }, created],
      { deadlineMs: 5_000 },
    );
    const error = await client.createCharge(INPUT).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error).toMatchObject({ attempts: 1, lastStatus: 503 });
    expect((error as Error).message).toMatch(/would start in 10000 ms .*Retry-After 10.*deadline/);
    expect(sleeps).toEqual([]);
    expect(sent).toHaveLength(1);
    expect(records[0]).toMatchObject({ decision: 'throw', reason: 'deadline' });
  });

  it('stops before the backoff would cross the deadline', async () => {
    // Delays 50, 100, 200, 400: after the third retry 350 ms are gone, 400 more would pass 700.
    const { client, sent, sleeps } = harness([unavailable], {
      maxAttempts: 10,
      deadlineMs: 700,
      random: () => 0.5,
    });
    await expect(client.createCharge(INPUT)).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(sleeps).toEqual([50, 100, 200]);
    expect(sent).toHaveLength(4);
  });

  it('cuts an attempt short at the deadline and reports the deadline, not a timeout', async () => {
    const { client, sent } = harness(['hang'], {
      deadlineMs: 30,
      perAttemptTimeoutMs: 10_000,
      now: () => performance.now(),
    });
    const error = await client.createCharge(INPUT).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(sent).toHaveLength(1);
  });
});

describe('ChargeClient: retry budget', () => {
  it('fails fast with RetryBudgetExhaustedError once the shared budget is spent', async () => {
    const retryBudget = new RetryBudget({ capacity: 10, retryCost: 5 });
    const { client, sent, sleeps, records } = harness([unavailable], { retryBudget });

    const first = await client.createCharge(INPUT);
    expect(first).toMatchObject({ status: 503, attempts: 3 });
    expect(retryBudget.available).toBe(0);

    const error = await client.createCharge(INPUT).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryBudgetExhaustedError);
    expect(error).toMatchObject({ attempts: 1, lastStatus: 503 });
    expect((error as Error).message).toContain('retry budget exhausted (0 of 10 tokens left');
    expect(sent).toHaveLength(4);
    expect(sleeps).toHaveLength(2);
    expect(records.at(-1)).toMatchObject({ decision: 'throw', reason: 'retry budget exhausted' });
    expect(client.metrics.snapshot().retry_budget_exhausted_total).toBe(1);
  });

  it('charges 10 tokens for a retry after a timeout', async () => {
    const retryBudget = new RetryBudget({ capacity: 100 });
    const { client } = harness(['hang', unavailable, created], {
      retryBudget,
      perAttemptTimeoutMs: 10,
    });
    await client.createCharge(INPUT);
    // -10 (timeout retry) -5 (error retry) +5 (refund of the last retry on success)
    expect(retryBudget.available).toBe(90);
  });

  it('refunds the last retry on a retried success and adds 1 on a first-try success', async () => {
    const retryBudget = new RetryBudget({ capacity: 50 });
    const failing = harness([unavailable], { retryBudget });
    await failing.client.createCharge(INPUT);
    expect(retryBudget.available).toBe(40);

    await harness([unavailable, created], { retryBudget }).client.createCharge(INPUT);
    expect(retryBudget.available).toBe(40);
    await harness([created], { retryBudget }).client.createCharge(INPUT);
    expect(retryBudget.available).toBe(41);
  });

  it('does not pay for attempts it will not make (final answers, last attempt)', async () => {
    const retryBudget = new RetryBudget({ capacity: 50 });
    await harness([{ status: 422 }], { retryBudget }).client.createCharge(INPUT);
    await harness([unavailable], { retryBudget, maxAttempts: 1 }).client.createCharge(INPUT);
    expect(retryBudget.available).toBe(50);
  });
});

describe('ChargeClient: transcript and metrics', () => {
  it('writes one JSON line per attempt with key, attempt, status or error, delay and Retry-After', async () => {
    const { client, lines } = harness([
      { status: 503, headers: { 'Retry-After': '1' } },
      'network-error',
      { status: 422, body: { type: '/problems/key-reused', status: 422 } },
    ]);
    const result = await client.createCharge(INPUT);
    const parsed = lines.map((line) => JSON.parse(line) as AttemptRecord);

    expect(parsed).toHaveLength(3);
    expect(parsed[0]).toMatchObject({
      key: result.idempotencyKey,
      attempt: 1,
      delayMs: 0,
      status: 503,
      retryAfter: '1',
      retryAfterMs: 1_000,
      decision: 'retry',
      jitterMs: 500,
      nextDelayMs: 1_500,
    });
    expect(parsed[1]).toMatchObject({ attempt: 2, delayMs: 1_500, errorKind: 'network' });
    expect(parsed[1]?.error).toContain('ECONNRESET');
    expect(parsed[1]?.status).toBeUndefined();
    expect(parsed[2]).toMatchObject({
      attempt: 3,
      delayMs: 100,
      status: 422,
      decision: 'return',
      reason: 'not retryable',
    });
    for (const line of parsed) expect(Date.parse(line.ts)).not.toBeNaN();
  });

  it('writes lines with a newline to a stream-like sink', async () => {
    const chunks: string[] = [];
    const { client } = harness([created], { transcript: { write: (chunk) => chunks.push(chunk) } });
    await client.createCharge(INPUT);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatch(/^\{.*"status":201.*\}\n$/);
  });

  it('counts attempts by number, outcomes by class and retry delays', async () => {
    const { client } = harness([unavailable, { status: 429 }, 'network-error', created], {
      maxAttempts: 5,
    });
    await client.createCharge(INPUT);
    const snapshot = client.metrics.snapshot();
    expect(snapshot.retry_attempt_total).toEqual({ '1': 1, '2': 1, '3': 1, '4+': 1 });
    expect(snapshot.http_request_outcome).toMatchObject({
      '2xx': 1,
      '4xx': 1,
      '5xx': 1,
      network: 1,
      timeout: 0,
    });
    expect(snapshot.retry_delay_seconds.count).toBe(3);
    expect(snapshot.retry_delay_seconds.sum).toBeCloseTo(0.05 + 0.1 + 0.2, 9);
  });
});
