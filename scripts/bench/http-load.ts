import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { exchange } from '../http/exchange.ts';

/**
 * A small keep-alive HTTP load generator for POST /charge (autocannon is not a dependency):
 * closed-loop saturation (N workers, each sends its next request when the last answered) and
 * open-loop paced load (requests leave on a fixed schedule whether or not earlier ones have
 * answered, so a server stall cannot hide itself by delaying the requests that would have
 * measured it). Open-loop latency counts from the moment the request is handed to the socket;
 * how late that was against the schedule (timer granularity, a busy load generator) is
 * reported separately as `sendLagMs`, so client-side delay is neither hidden nor blamed on
 * the server.
 */

export interface ChargeCall {
  key: string;
  body: string;
}

export interface CallResult {
  status: number;
  replayed: boolean;
  body: string;
}

export class ChargeClient {
  readonly #agent: http.Agent;
  readonly #url: URL;
  readonly #apiKey: string;

  constructor(baseUrl: string, apiKey: string, maxSockets = 256) {
    this.#url = new URL('/charge', baseUrl);
    this.#apiKey = apiKey;
    this.#agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  post(call: ChargeCall, timeoutMs = 30_000): Promise<CallResult> {
    return this.#request(
      this.#url,
      'POST',
      {
        'x-api-key': this.#apiKey,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(call.body)),
        'idempotency-key': call.key,
      },
      call.body,
      timeoutMs,
    );
  }

  /** GET /health: the same gateway and invoke path with no database work, as a floor. */
  health(timeoutMs = 30_000): Promise<CallResult> {
    return this.#request(new URL('/health', this.#url), 'GET', {}, undefined, timeoutMs);
  }

  async #request(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
  ): Promise<CallResult> {
    const answer = await exchange(
      {
        agent: this.#agent,
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        headers,
      },
      body,
      timeoutMs,
    );
    return {
      status: answer.status,
      replayed: answer.headers['idempotent-replayed'] === 'true',
      body: answer.text,
    };
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** A new charge (fresh Idempotency-Key) each call. */
export function newChargeCall(customers = 200): ChargeCall {
  const key = randomUUID();
  const n = Math.floor(Math.random() * customers);
  return {
    key,
    body: JSON.stringify({ amount: 100 + n, currency: 'EUR', customerId: `cus_${n}` }),
  };
}

export interface LoadSummary {
  /** Requests answered within the measurement window. */
  completed: number;
  /** Requests answered in all, warm-up included. */
  total: number;
  /** Of those, answered with the expected status. */
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  /** ok / measured seconds. */
  rps: number;
  /** Milliseconds per successful request, from send to the end of the response. */
  latenciesMs: number[];
  firstError?: string;
  /** Open loop: how late each request left against its schedule, p99 and max (ms). */
  sendLagP99Ms?: number;
  sendLagMaxMs?: number;
  /** Open loop: the slowest answer per 250 ms of schedule, to tell one stall from many. */
  worstPerWindowMs?: number[];
}

function recorder(expect: (result: CallResult) => boolean) {
  const summary: LoadSummary = {
    completed: 0,
    total: 0,
    ok: 0,
    errors: 0,
    statuses: {},
    rps: 0,
    latenciesMs: [],
  };
  return {
    summary,
    record(result: CallResult | Error, latencyMs: number): void {
      summary.completed++;
      if (result instanceof Error) {
        summary.errors++;
        summary.statuses.error = (summary.statuses.error ?? 0) + 1;
        summary.firstError ??= result.message;
        return;
      }
      summary.statuses[result.status] = (summary.statuses[result.status] ?? 0) + 1;
      if (expect(result)) {
        summary.ok++;
        summary.latenciesMs.push(latencyMs);
      } else {
        summary.errors++;
        summary.firstError ??= `${result.status} ${result.body.slice(0, 200)}`;
      }
    },
  };
}

/**
 * `concurrency` workers send back to back for `warmupMs + durationMs`; only answers that
 * arrive inside the last `durationMs` are counted.
 */
export async function closedLoop(options: {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  send: () => Promise<CallResult>;
  expect: (result: CallResult) => boolean;
}): Promise<LoadSummary> {
  const { summary, record } = recorder(options.expect);
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  const worker = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      let result: CallResult | Error;
      try {
        result = await options.send();
      } catch (error) {
        result = error instanceof Error ? error : new Error(String(error));
      }
      const done = performance.now();
      summary.total++;
      if (done >= measureFrom && done <= end) record(result, done - sent);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  summary.rps = summary.ok / (options.durationMs / 1000);
  return summary;
}

/**
 * Sends `total` requests at `ratePerSecond` on a fixed schedule (open loop) and waits for
 * all of them. `send(i)` sends request i.
 */
export async function openLoop(options: {
  ratePerSecond: number;
  total: number;
  send: (index: number) => Promise<CallResult>;
  expect: (result: CallResult) => boolean;
}): Promise<LoadSummary> {
  const { summary, record } = recorder(options.expect);
  const intervalMs = 1000 / options.ratePerSecond;
  const windowMs = 250;
  const worst: number[] = [];
  const lags: number[] = [];
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  while (sent < options.total) {
    const due = Math.min(options.total, Math.floor((performance.now() - start) / intervalMs) + 1);
    for (; sent < due; sent++) {
      const scheduled = start + sent * intervalMs;
      const window = Math.floor((scheduled - start) / windowMs);
      const sentAt = performance.now();
      lags.push(sentAt - scheduled);
      inFlight.push(
        options.send(sent).then(
          (result) => {
            const latency = performance.now() - sentAt;
            worst[window] = Math.max(worst[window] ?? 0, latency);
            record(result, latency);
          },
          (error: unknown) => record(error instanceof Error ? error : new Error(String(error)), 0),
        ),
      );
    }
    if (sent < options.total) {
      const nextDue = start + sent * intervalMs - performance.now();
      await sleep(Math.max(0, Math.min(nextDue, 1)));
    }
  }
  await Promise.all(inFlight);
  summary.total = summary.completed;
  summary.rps = summary.ok / ((performance.now() - start) / 1000);
  lags.sort((a, b) => a - b);
  summary.sendLagP99Ms = lags[Math.max(0, Math.ceil(lags.length * 0.99) - 1)] ?? 0;
  summary.sendLagMaxMs = lags.at(-1) ?? 0;
  summary.worstPerWindowMs = Array.from(worst, (value) => Math.round((value ?? 0) * 10) / 10);
  return summary;
}
