import type { TokenBucket } from '../../primitives/token-bucket.ts';
import { failpoint } from '../commons/failpoints.ts';
import type { PendingEvent } from '../store/outbox-store.ts';
import type { RelaySettings } from './relay-settings.ts';
import { type SendResult, SQS_BATCH_SIZE } from './sqs-publisher.ts';
import type { WarmUp } from './warm-up.ts';

/** What the relay needs of the single-active-relay lease (see RelayLease). */
export interface LeaseView {
  ensureHeld(): Promise<boolean>;
  readonly token: string | undefined;
  release(): Promise<void>;
}

/** What the drain loop needs: the lease, the outbox, the queue, the rate and time. */
export interface RelayPorts {
  lease: LeaseView;
  /** The oldest events not yet on the queue, in outbox order. */
  fetchPending(limit: number): Promise<PendingEvent[]>;
  /** Sends up to {@link SQS_BATCH_SIZE} events in one call. */
  sendBatch(events: PendingEvent[]): Promise<SendResult>;
  /** Marks ids published if `fencingToken` is still the lease's current token. */
  markPublished(ids: string[], fencingToken: string): Promise<{ fenced: boolean; marked: number }>;
  /** Publish-rate limit: one token per event. */
  rateLimit: TokenBucket;
  /** Slow start of the rate after a quiet or failing spell. */
  warmUp: WarmUp;
  /** Milliseconds this invocation has left. */
  remainingMs(): number;
  sleep(ms: number): Promise<unknown>;
  /** Called after each marked batch with how many events it marked published. */
  onPublished(count: number): void;
  /** A database or broker error the loop survived (it backs off and carries on). */
  onError(error: unknown): void;
  settings: Pick<
    RelaySettings,
    | 'stopMarginMs'
    | 'idlePollMinMs'
    | 'idlePollMaxMs'
    | 'failureBackoffMinMs'
    | 'failureBackoffMaxMs'
    | 'claimSize'
    | 'sendLanes'
    | 'standbyPollMs'
  >;
}

/** What one relay invocation did. */
export interface RelayRun {
  published: number;
  failed: number;
  /** Rounds that found events to publish. */
  rounds: number;
  /** Rounds cut short because another relay's lease fenced this one out. */
  fencedOut: number;
}

/** What one round (one claim of up to `claimSize` events) did. */
export interface RoundResult {
  published: number;
  failed: number;
  fenced: boolean;
}

/**
 * The always-draining relay: while this invocation has time, and while it holds the
 * single-active-relay lease, it drains the oldest pending events to the queue in rounds of
 * three steps, named for what they do: fetch (read the oldest pending rows), send
 * (SendMessageBatch) and mark (record them published, only while the lease's fencing token is
 * current). It polls an empty outbox every few tens of milliseconds (backing off while it
 * stays empty). Without the lease it waits as a standby, so the configured rate is global
 * however many relays run. No database transaction is open while a send is in flight.
 */
export async function drainOutboxToQueue(ports: RelayPorts): Promise<RelayRun> {
  const { settings } = ports;
  const run: RelayRun = { published: 0, failed: 0, rounds: 0, fencedOut: 0 };
  let idleMs = settings.idlePollMinMs;
  let failureMs = settings.failureBackoffMinMs;
  let quiet = true;
  while (ports.remainingMs() > settings.stopMarginMs) {
    if (!(await ports.lease.ensureHeld())) {
      quiet = true;
      await ports.sleep(settings.standbyPollMs);
      continue;
    }
    let round: RoundResult;
    try {
      const events = await ports.fetchPending(settings.claimSize);
      if (events.length === 0) {
        quiet = true;
        await ports.sleep(idleMs);
        idleMs = Math.min(idleMs * 2, settings.idlePollMaxMs);
        continue;
      }
      idleMs = settings.idlePollMinMs;
      // A backlog after a quiet spell (or an outage) starts at half the rate.
      if (quiet) ports.warmUp.restart();
      round = await publishRound(ports, events);
    } catch (error) {
      ports.onError(error);
      round = { published: 0, failed: 0, fenced: false };
    }
    run.rounds++;
    run.published += round.published;
    run.failed += round.failed;
    if (round.fenced) run.fencedOut++;
    if (round.published > 0) {
      quiet = false;
      failureMs = settings.failureBackoffMinMs;
    } else {
      quiet = true;
      await ports.sleep(failureMs);
      failureMs = Math.min(failureMs * 2, settings.failureBackoffMaxMs);
    }
  }
  await ports.lease.release().catch((error) => ports.onError(error));
  return run;
}

/**
 * Publishes one round of events (in outbox order). Each customer belongs to one of
 * `sendLanes` lanes; a lane sends its events one batch at a time, in order, so no customer
 * ever has two sends in flight, while different customers' lanes run side by side. When the
 * queue rejects an event, its customer's later events wait for the next round (which starts
 * again from the rejected one), so a customer's events reach the queue in outbox order.
 * A batch holds at most one event per customer (see nextBatch).
 * Every batch is marked published as soon as the queue takes it, fenced by the lease token.
 */
export async function publishRound(
  ports: Pick<
    RelayPorts,
    'lease' | 'sendBatch' | 'markPublished' | 'rateLimit' | 'warmUp' | 'onPublished' | 'sleep'
  > & { settings: Pick<RelaySettings, 'sendLanes'> },
  events: readonly PendingEvent[],
): Promise<RoundResult> {
  const result: RoundResult = { published: 0, failed: 0, fenced: false };
  const stopped = () => result.fenced;

  async function runLane(lane: PendingEvent[]): Promise<void> {
    const blocked = new Set<string>();
    let rest = lane;
    while (rest.length > 0 && !stopped()) {
      const batch = nextBatch(rest);
      const inBatch = new Set(batch.map((event) => event.eventId));
      await takeTokens(ports, batch.length);
      const token = (await ports.lease.ensureHeld()) ? ports.lease.token : undefined;
      if (token === undefined || stopped()) {
        result.fenced = true;
        return;
      }
      const sent = await ports.sendBatch(batch);
      // Published but not yet marked: a crash here is what the inbox exists for.
      failpoint('relay.after-publish');
      result.failed += sent.failed.length;
      const failed = new Set(sent.failed);
      for (const event of batch) if (failed.has(event.eventId)) blocked.add(event.aggregateId);
      if (sent.published.length > 0) {
        const mark = await ports.markPublished(sent.published, token);
        if (mark.fenced) {
          result.fenced = true;
          return;
        }
        result.published += mark.marked;
        if (mark.marked > 0) ports.onPublished(mark.marked);
      }
      rest = rest.filter((event) => !inBatch.has(event.eventId) && !blocked.has(event.aggregateId));
    }
  }

  await Promise.all(lanesByCustomer(events, ports.settings.sendLanes).map(runLane));
  return result;
}

/**
 * The next SendMessageBatch of a lane: the first remaining event of each customer, up to ten.
 * One event per customer per call, because SQS answers per entry: if it refused a customer's
 * first event and took their second in the same call, the second would be on the queue ahead
 * of the first. A customer's events therefore go out one call after another (per-customer
 * throughput is one event per round trip), while a call still carries ten customers.
 */
function nextBatch(rest: readonly PendingEvent[]): PendingEvent[] {
  const batch: PendingEvent[] = [];
  const customers = new Set<string>();
  for (const event of rest) {
    if (batch.length === SQS_BATCH_SIZE) break;
    if (customers.has(event.aggregateId)) continue;
    customers.add(event.aggregateId);
    batch.push(event);
  }
  return batch;
}

/**
 * Splits events into at most `laneCount` lanes, every customer's events in one lane, in
 * their original order. Customers are dealt to lanes in order of first appearance, which
 * spreads a round's customers evenly (a hash would leave lanes idle with few customers).
 */
export function lanesByCustomer(
  events: readonly PendingEvent[],
  laneCount: number,
): PendingEvent[][] {
  const laneOf = new Map<string, number>();
  const lanes: PendingEvent[][] = [];
  for (const event of events) {
    let lane = laneOf.get(event.aggregateId);
    if (lane === undefined) {
      lane = laneOf.size % Math.max(1, laneCount);
      laneOf.set(event.aggregateId, lane);
    }
    const members = lanes[lane] ?? [];
    members.push(event);
    lanes[lane] = members;
  }
  return lanes.filter((lane) => lane !== undefined);
}

async function takeTokens(
  { rateLimit, warmUp, sleep }: Pick<RelayPorts, 'rateLimit' | 'warmUp' | 'sleep'>,
  count: number,
): Promise<void> {
  for (let wait = warmUp.msUntilAllowed(count); wait > 0; wait = warmUp.msUntilAllowed(count)) {
    await sleep(Math.ceil(wait));
  }
  warmUp.grant(count);
  while (!rateLimit.tryTake(count)) {
    await sleep(Math.max(1, Math.ceil(rateLimit.msUntilAvailable(count))));
  }
}
