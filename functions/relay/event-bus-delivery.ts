import type { PendingEvent } from '../store/outbox-store.ts';
import type { EventBusPublishResult } from './event-bus-publisher.ts';
import type { RelaySettings } from './relay-settings.ts';

/** What the event-bus delivery loop needs: the lease, the outbox rows, the bus and time. */
export interface EventBusDeliveryPorts {
  /** Whether this relay holds the lease (PutEvents is not idempotent: one deliverer at a time). */
  holdsLease(): boolean;
  /** Events the bus has not taken yet whose retry time has come, oldest first. */
  fetchPending(limit: number): Promise<PendingEvent[]>;
  put(events: PendingEvent[]): Promise<EventBusPublishResult>;
  markDelivered(ids: string[]): Promise<void>;
  /** Counts a failed attempt and schedules the next one (backoff per row). */
  defer(ids: string[]): Promise<void>;
  /** Keep delivering while this returns true. */
  running(): boolean;
  sleep(ms: number): Promise<unknown>;
  onError(error: unknown): void;
  settings: Pick<RelaySettings, 'busIdlePollMinMs' | 'busIdlePollMaxMs' | 'standbyPollMs'>;
}

/** Events per bus round: five PutEvents calls. */
const BUS_ROUND_SIZE = 50;

/**
 * The event bus's own delivery loop, beside the queue's: it has its own state in the outbox
 * (bus_published_at), so while the bus fails the queue and the ledger carry on, and once it
 * recovers this loop catches up. A rejected event is retried with a growing per-row delay,
 * so a few events the bus keeps refusing do not hold up the rest.
 */
export async function deliverToEventBus(ports: EventBusDeliveryPorts): Promise<number> {
  const { settings } = ports;
  let delivered = 0;
  let idleMs = settings.busIdlePollMinMs;
  while (ports.running()) {
    if (!ports.holdsLease()) {
      await ports.sleep(settings.standbyPollMs);
      continue;
    }
    try {
      const events = await ports.fetchPending(BUS_ROUND_SIZE);
      if (events.length > 0) {
        const result = await ports.put(events);
        if (result.publishedIds.length > 0) await ports.markDelivered(result.publishedIds);
        if (result.failedIds.length > 0) await ports.defer(result.failedIds);
        delivered += result.publishedIds.length;
        if (result.publishedIds.length > 0) {
          idleMs = settings.busIdlePollMinMs;
          continue;
        }
      }
    } catch (error) {
      ports.onError(error);
    }
    await ports.sleep(idleMs);
    idleMs = Math.min(idleMs * 2, settings.busIdlePollMaxMs);
  }
  return delivered;
}
