import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { type Clock, monotonicClock } from '../primitives/clock.ts';
import { ChargeNetworkError, DeadlineExceededError, RetryBudgetExhaustedError } from './errors.ts';
import { ClientMetrics, outcomeClassOf } from './metrics.ts';
import type { RetryBudget, RetryCause } from './retry-budget.ts';
import { decideAfterAttempt, type RetryDecision } from './retry-decision.ts';
import { parseRetryAfterMs, retryDelay, serverNowMs } from './retry-policy.ts';
import { type AttemptOutcome, describeError, sendAttempt } from './send-attempt.ts';
import { type AttemptRecord, type TranscriptSink, writeTranscriptLine } from './transcript.ts';
import type { ChargeInput, ChargeResult } from './types.ts';

/** How a {@link ChargeClient} reaches the API and retries; every field but the first two has a default. */
export interface ChargeClientOptions {
  /** Where the API lives, e.g. `http://127.0.0.1:3000` or an API Gateway stage URL. */
  baseUrl: string;
  /** Sent as `x-api-key`. */
  apiKey: string;
  /** Attempts per logical charge, the first included. Default 3. */
  maxAttempts?: number;
  /** Backoff base: the first retry waits up to this long. Default 100 ms. */
  baseDelayMs?: number;
  /** No backoff window grows past this. Default 5 000 ms. */
  capDelayMs?: number;
  /** One attempt (request and response body) may take this long. Default 10 000 ms. */
  perAttemptTimeoutMs?: number;
  /** A whole logical charge, all attempts and waits, may take this long. Default 30 000 ms. */
  deadlineMs?: number;
  /** Shared by all calls of one call site; without it retries are limited only by maxAttempts. */
  retryBudget?: RetryBudget;
  /** Called with each attempt's record (the transcript line, as an object). */
  onAttempt?: (record: AttemptRecord) => void;
  /** If set, every attempt is written to it as one JSON line. */
  transcript?: TranscriptSink;
  /** Where the client's metrics are recorded; several clients may share one. */
  metrics?: ClientMetrics;
  /** Uniform in [0, 1); inject for deterministic backoff. Default Math.random. */
  random?: () => number;
  /** Waits before a retry; inject to test without real time. */
  sleep?: (ms: number) => Promise<void>;
  /** Monotonic milliseconds for the deadline; inject together with `sleep`. */
  now?: Clock;
  /** The HTTP transport; inject to test without a server. Default global fetch. */
  fetch?: typeof fetch;
}

/** Per-call options of {@link ChargeClient.createCharge}. */
export interface CreateChargeOptions {
  /**
   * The key of this logical charge: pass the key of an earlier call (e.g. from a thrown
   * {@link ChargeClientError}) to continue it. Default: a new random UUID (v4). 1-255
   * visible ASCII characters.
   */
  idempotencyKey?: string;
}

const DEFAULTS = {
  maxAttempts: 3,
  baseDelayMs: 100,
  capDelayMs: 5_000,
  perAttemptTimeoutMs: 10_000,
  deadlineMs: 30_000,
} as const;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** What is known about an attempt before the client decides what to do next. */
type AttemptFacts = Omit<AttemptRecord, 'decision' | 'reason' | 'nextDelayMs' | 'budgetTokens'>;

/**
 * A client for `POST /charge` that retries safely: one Idempotency-Key per logical charge,
 * the same body bytes on every attempt, full-jitter backoff (on top of Retry-After), a
 * per-attempt timeout, an overall deadline and an optional shared {@link RetryBudget}.
 *
 * Outcome design: `createCharge` RESOLVES with a {@link ChargeResult} whenever the server
 * gave an answer the client stops at (check `result.ok`), and REJECTS with a
 * {@link ChargeClientError} when it stopped without one, i.e. the outcome is unknown:
 * {@link RetryBudgetExhaustedError}, {@link DeadlineExceededError}, or
 * {@link ChargeNetworkError} when the last attempt got no answer. Every error carries the
 * `idempotencyKey` to retry with later.
 */
export class ChargeClient {
  readonly metrics: ClientMetrics;
  private readonly chargeUrl: string;
  private readonly apiKey: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly capDelayMs: number;
  private readonly perAttemptTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly retryBudget: RetryBudget | undefined;
  private readonly onAttempt: ((record: AttemptRecord) => void) | undefined;
  private readonly transcript: TranscriptSink | undefined;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: Clock;
  private readonly fetch: typeof fetch;

  constructor(options: ChargeClientOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`ChargeClient: baseUrl "${options.baseUrl}" is not a URL`);
    }
    this.chargeUrl = `${base.href.replace(/\/+$/, '')}/charge`;
    this.apiKey = options.apiKey;
    this.maxAttempts = positive('maxAttempts', options.maxAttempts ?? DEFAULTS.maxAttempts);
    if (!Number.isInteger(this.maxAttempts)) {
      throw new RangeError('ChargeClient: maxAttempts must be an integer');
    }
    this.baseDelayMs = positive('baseDelayMs', options.baseDelayMs ?? DEFAULTS.baseDelayMs);
    this.capDelayMs = positive('capDelayMs', options.capDelayMs ?? DEFAULTS.capDelayMs);
    this.perAttemptTimeoutMs = positive(
      'perAttemptTimeoutMs',
      options.perAttemptTimeoutMs ?? DEFAULTS.perAttemptTimeoutMs,
    );
    this.deadlineMs = positive('deadlineMs', options.deadlineMs ?? DEFAULTS.deadlineMs);
    this.retryBudget = options.retryBudget;
    this.onAttempt = options.onAttempt;
    this.transcript = options.transcript;
    this.metrics = options.metrics ?? new ClientMetrics();
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.now = options.now ?? monotonicClock;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * Creates a charge, retrying as the policy allows. All attempts carry the same
   * Idempotency-Key and byte-identical bodies (serialized once), so however many reach the
   * server, at most one charge is made.
   */
  async createCharge(input: ChargeInput, options: CreateChargeOptions = {}): Promise<ChargeResult> {
    const key = options.idempotencyKey ?? randomUUID();
    if (!IDEMPOTENCY_KEY.test(key)) {
      throw new TypeError('Idempotency-Key must be 1-255 visible ASCII characters (no spaces)');
    }
    const body = new TextEncoder().encode(JSON.stringify(input));
    const deadlineAt = this.now() + this.deadlineMs;
    let delayMs = 0;
    let lastRetryCost = 0;
    let lastStatus: number | undefined;

    for (let attempt = 1; ; attempt += 1) {
      const remainingMs = deadlineAt - this.now();
      if (remainingMs <= 0) {
        throw new DeadlineExceededError(
          `Charge ${key}: the ${this.deadlineMs} ms deadline passed before attempt ${attempt}`,
          { idempotencyKey: key, attempts: attempt - 1, ...optionalStatus(lastStatus) },
        );
      }
      const deadlineBound = remainingMs < this.perAttemptTimeoutMs;
      const timeoutMs = Math.min(this.perAttemptTimeoutMs, remainingMs);

      this.metrics.recordAttempt(attempt);
      const startedAt = this.now();
      const outcome = await this.send(key, body, timeoutMs, attempt);
      const record: AttemptFacts = {
        ts: new Date().toISOString(),
        key,
        attempt,
        delayMs,
        durationMs: Math.round(this.now() - startedAt),
      };
      const { result, retryAfterMs } = this.readOutcome(outcome, record, timeoutMs, attempt);
      if (result) lastStatus = result.status;

      const decision = decideAfterAttempt({
        attempt,
        maxAttempts: this.maxAttempts,
        outcome:
          outcome.kind === 'answer'
            ? { kind: 'answer', status: outcome.status }
            : { kind: 'no-answer', timedOut: outcome.timedOut },
        deadlineBound,
        nextDelayMs: () => {
          const next = retryDelay({
            retry: attempt - 1,
            baseDelayMs: this.baseDelayMs,
            capDelayMs: this.capDelayMs,
            retryAfterMs,
            remainingMs: deadlineAt - this.now(),
            random: this.random,
          });
          record.jitterMs = next.jitterMs;
          return next.delayMs;
        },
        remainingMs: () => deadlineAt - this.now(),
      });
      const unknownOutcome = {
        idempotencyKey: key,
        attempts: attempt,
        ...optionalStatus(lastStatus),
      };

      if (decision.action === 'return' && result) {
        if (decision.reason === 'success') this.retryBudget?.recordSuccess(lastRetryCost);
        this.finish(record, 'return', decision.reason);
        return result;
      }
      if (decision.action !== 'retry') {
        // Only an answer is returned, so this is a throw: the outcome is unknown.
        this.finish(record, 'throw', decision.reason);
        throw this.unknownOutcomeError(decision, outcome, record, unknownOutcome);
      }

      // A retry is wanted and fits before the deadline; the budget must pay for it.
      const { nextDelayMs, cause } = decision;
      lastRetryCost = this.payForRetry(cause, record, unknownOutcome) ?? lastRetryCost;
      this.finish(record, 'retry', 'retryable', nextDelayMs);
      this.metrics.observeRetryDelay(nextDelayMs / 1000);
      await this.sleep(nextDelayMs);
      delayMs = nextDelayMs;
    }
  }

  /**
   * Records how an attempt ended (metrics, transcript facts) and reads the answer, if any:
   * the result to return and the Retry-After it asked for.
   */
  private readOutcome(
    outcome: AttemptOutcome,
    record: AttemptFacts,
    timeoutMs: number,
    attempt: number,
  ): { result?: ChargeResult; retryAfterMs?: number } {
    if (outcome.kind === 'no-answer') {
      this.metrics.recordOutcome(outcome.timedOut ? 'timeout' : 'network');
      record.error = outcome.timedOut
        ? `no answer within ${Math.round(timeoutMs)} ms`
        : describeError(outcome.error);
      record.errorKind = outcome.timedOut ? 'timeout' : 'network';
      return {};
    }
    const { status, headers } = outcome;
    this.metrics.recordOutcome(outcomeClassOf(status));
    const replayed = headers.get('idempotent-replayed')?.toLowerCase() === 'true';
    record.status = status;
    if (replayed) record.replayed = true;
    const result: ChargeResult = {
      ok: status >= 200 && status < 300,
      status,
      body: outcome.body,
      headers: Object.fromEntries(headers),
      replayed,
      attempts: attempt,
      idempotencyKey: record.key,
    };
    const retryAfter = headers.get('retry-after');
    if (retryAfter === null) return { result };
    record.retryAfter = retryAfter;
    const retryAfterMs = parseRetryAfterMs(
      retryAfter,
      serverNowMs(headers.get('date'), Date.now()),
    );
    if (retryAfterMs !== undefined) record.retryAfterMs = retryAfterMs;
    return { result, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }

  /**
   * Takes the tokens a retry costs from the retry budget; the cost taken (undefined without a
   * budget), or throws {@link RetryBudgetExhaustedError} when the budget cannot pay.
   */
  private payForRetry(
    cause: RetryCause,
    record: AttemptFacts,
    details: { idempotencyKey: string; attempts: number; lastStatus?: number },
  ): number | undefined {
    if (!this.retryBudget) return undefined;
    const paid = this.retryBudget.tryAcquireRetry(cause);
    if (paid !== undefined) return paid;
    this.metrics.recordBudgetExhausted();
    this.finish(record, 'throw', 'retry budget exhausted');
    throw new RetryBudgetExhaustedError(
      `Charge ${details.idempotencyKey}: retry budget exhausted (${this.retryBudget.available} of ${this.retryBudget.capacity} tokens left, a retry costs ${this.retryBudget.costOf(cause)}): failing fast after ${details.attempts} attempt(s) instead of adding load to a failing service; retry later with the same key`,
      details,
    );
  }

  /** The error a call ends with when it stops without an answer to return. */
  private unknownOutcomeError(
    decision: RetryDecision,
    outcome: AttemptOutcome,
    record: AttemptFacts,
    details: { idempotencyKey: string; attempts: number; lastStatus?: number },
  ): Error {
    const { idempotencyKey: key, attempts: attempt } = details;
    if (decision.action === 'throw' && decision.reason === 'deadline') {
      if (decision.next === undefined) {
        return new DeadlineExceededError(
          `Charge ${key}: attempt ${attempt} was still unanswered when the ${this.deadlineMs} ms deadline passed; retry later with the same key`,
          { ...details, cause: outcome.kind === 'no-answer' ? outcome.error : undefined },
        );
      }
      return new DeadlineExceededError(
        `Charge ${key}: the next attempt would start in ${decision.next.delayMs} ms${record.retryAfterMs === undefined ? '' : ` (Retry-After ${record.retryAfter})`}, after the deadline (${Math.max(0, Math.round(decision.next.remainingMs))} ms left); retry later with the same key`,
        details,
      );
    }
    if (outcome.kind === 'no-answer') {
      return new ChargeNetworkError(
        `Charge ${key}: no answer after ${attempt} attempt(s) (${record.error}); the charge may or may not exist, retry later with the same key`,
        { ...details, cause: outcome.error, timedOut: outcome.timedOut },
      );
    }
    // Unreachable: an answer is always returned, never thrown.
    return new Error(`Charge ${key}: no decision for attempt ${attempt}`);
  }

  private send(
    key: string,
    body: Uint8Array,
    timeoutMs: number,
    attempt: number,
  ): Promise<AttemptOutcome> {
    return sendAttempt(this.fetch, this.chargeUrl, {
      apiKey: this.apiKey,
      key,
      body,
      timeoutMs,
      attempt,
      maxAttempts: this.maxAttempts,
    });
  }

  /** Reports one attempt (transcript line, onAttempt) once its decision is known. */
  private finish(
    facts: AttemptFacts,
    decision: AttemptRecord['decision'],
    reason: string,
    nextDelayMs?: number,
  ): void {
    const record: AttemptRecord = {
      ...facts,
      decision,
      reason,
      ...(nextDelayMs === undefined ? {} : { nextDelayMs }),
      ...(this.retryBudget ? { budgetTokens: this.retryBudget.available } : {}),
    };
    if (this.transcript) writeTranscriptLine(this.transcript, record);
    this.onAttempt?.(record);
  }
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`ChargeClient: ${name} must be a positive number, got ${value}`);
  }
  return value;
}

function optionalStatus(status: number | undefined): { lastStatus?: number } {
  return status === undefined ? {} : { lastStatus: status };
}
