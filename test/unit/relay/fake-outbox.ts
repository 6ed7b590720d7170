import type { LeaseView, RelayPorts } from '../../../functions/relay/drain-outbox.ts';
import type { SendResult } from '../../../functions/relay/sqs-publisher.ts';
import { WarmUp } from '../../../functions/relay/warm-up.ts';
import type { PendingEvent } from '../../../functions/store/outbox-store.ts';
import { TokenBucket } from '../../../primitives/token-bucket.ts';

/** An event of `customer`, numbered `n` in outbox order. */
export function event(n: number, customer: string): PendingEvent {
  return {
    eventId: `e${String(n).padStart(4, '0')}`,
    aggregateId: customer,
    eventType: 'charge.created',
    payload: { n },
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)),
    republishCount: 0,
  };
}

/** `count` events dealt round-robin over `customers` customers. */
export function events(count: number, customers: number): PendingEvent[] {
  return Array.from({ length: count }, (_, n) => event(n, `cus_${n % customers}`));
}

export interface FakeRelay {
  ports: RelayPorts;
  /** Events in the order the fake queue accepted them. */
  queue: PendingEvent[];
  /** Every SendMessageBatch call, in order of starting. */
  sends: PendingEvent[][];
  /** Ids marked published, in order. */
  marked: string[];
  /** Simulated milliseconds slept, in order. */
  sleeps: number[];
  /** Customers with a send in flight at the same time as another send of theirs. */
  concurrentSameCustomer: Set<string>;
  now(): number;
}

/**
 * Relay ports over an in-memory outbox and queue, on a simulated clock (sleep advances it):
 * the logic of the relay with nothing else running. `reject(event, attempt)` decides which
 * entries the queue refuses; `remainingMs` ends the run after `runMs` simulated ms.
 */
export function fakeRelay(
  outbox: PendingEvent[],
  options: {
    reject?: (event: PendingEvent, attempt: number) => boolean;
    lease?: LeaseView;
    fenceAfterMarks?: number;
    runMs?: number;
    ratePerSecond?: number;
    sendLanes?: number;
  } = {},
): FakeRelay {
  let clock = 0;
  const now = () => clock;
  const pending = [...outbox];
  const attempts = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const fake: Omit<FakeRelay, 'ports'> = {
    queue: [],
    sends: [],
    marked: [],
    sleeps: [],
    concurrentSameCustomer: new Set(),
    now,
  };
  const sleep = async (ms: number) => {
    fake.sleeps.push(ms);
    clock += ms;
    await Promise.resolve();
  };
  const rate = options.ratePerSecond ?? 1_000_000;
  const ports: RelayPorts = {
    lease: options.lease ?? {
      ensureHeld: async () => true,
      token: '1',
      release: async () => {},
    },
    fetchPending: async (limit) => pending.slice(0, limit),
    sendBatch: async (batch): Promise<SendResult> => {
      fake.sends.push(batch);
      for (const { aggregateId } of batch) {
        if ((inFlight.get(aggregateId) ?? 0) > 0) fake.concurrentSameCustomer.add(aggregateId);
        inFlight.set(aggregateId, (inFlight.get(aggregateId) ?? 0) + 1);
      }
      // Yield a few times so other lanes' sends overlap with this one.
      for (let i = 0; i < 3; i++) await Promise.resolve();
      const result: SendResult = { published: [], failed: [] };
      for (const item of batch) {
        const attempt = (attempts.get(item.eventId) ?? 0) + 1;
        attempts.set(item.eventId, attempt);
        if (options.reject?.(item, attempt)) result.failed.push(item.eventId);
        else {
          result.published.push(item.eventId);
          fake.queue.push(item);
        }
      }
      for (const { aggregateId } of batch)
        inFlight.set(aggregateId, (inFlight.get(aggregateId) ?? 1) - 1);
      return result;
    },
    markPublished: async (ids) => {
      if (options.fenceAfterMarks !== undefined && fake.marked.length >= options.fenceAfterMarks) {
        return { fenced: true, marked: 0 };
      }
      for (const id of ids) {
        const index = pending.findIndex((item) => item.eventId === id);
        if (index >= 0) pending.splice(index, 1);
        fake.marked.push(id);
      }
      return { fenced: false, marked: ids.length };
    },
    rateLimit: new TokenBucket({
      capacity: Math.max(10, Math.ceil(rate / 20)),
      refillPerSecond: rate,
      clock: now,
    }),
    warmUp: new WarmUp(rate, 3, now),
    remainingMs: () => (options.runMs ?? 1_000) + 20_000 - clock,
    sleep,
    onPublished: () => {},
    onError: (error) => {
      throw error;
    },
    settings: {
      stopMarginMs: 20_000,
      idlePollMinMs: 10,
      idlePollMaxMs: 50,
      failureBackoffMinMs: 100,
      failureBackoffMaxMs: 2_000,
      claimSize: 100,
      sendLanes: options.sendLanes ?? 4,
      standbyPollMs: 500,
    },
  };
  return { ...fake, ports };
}

/** Each customer's events in the order given, by event id. */
export function perCustomer(items: readonly PendingEvent[]): Map<string, string[]> {
  const byCustomer = new Map<string, string[]>();
  for (const item of items) {
    byCustomer.set(item.aggregateId, [...(byCustomer.get(item.aggregateId) ?? []), item.eventId]);
  }
  return byCustomer;
}
