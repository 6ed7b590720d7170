import { describe, expect, it } from 'vitest';
import { deliverToEventBus } from '../../../functions/relay/event-bus-delivery.ts';
import { events } from './fake-outbox.ts';

describe('deliverToEventBus', () => {
  it('defers what the bus refuses and delivers it once the bus is back, without touching the queue state', async () => {
    const outbox = events(12, 3);
    const pending = new Map(outbox.map((item) => [item.eventId, item]));
    const deferred: string[][] = [];
    let busUp = false;
    let rounds = 0;
    const delivered = await deliverToEventBus({
      holdsLease: () => true,
      fetchPending: async (limit) => [...pending.values()].slice(0, limit),
      put: async (batch) => {
        const ids = batch.map((item) => item.eventId);
        return busUp
          ? { publishedIds: ids, failedIds: [], failures: [] }
          : { publishedIds: [], failedIds: ids, failures: [] };
      },
      markDelivered: async (ids) => {
        for (const id of ids) pending.delete(id);
      },
      defer: async (ids) => void deferred.push(ids),
      running: () => ++rounds < 10,
      sleep: async () => {
        if (rounds >= 3) busUp = true;
      },
      onError: (error) => {
        throw error;
      },
      settings: { busIdlePollMinMs: 50, busIdlePollMaxMs: 500, standbyPollMs: 500 },
    });
    expect(deferred.length).toBeGreaterThan(0);
    expect(deferred[0]).toHaveLength(12);
    expect(delivered).toBe(12);
    expect(pending.size).toBe(0);
  });

  it('puts nothing while another relay holds the lease (PutEvents is not idempotent)', async () => {
    let puts = 0;
    let rounds = 0;
    await deliverToEventBus({
      holdsLease: () => false,
      fetchPending: async () => events(3, 1),
      put: async () => {
        puts++;
        return { publishedIds: [], failedIds: [], failures: [] };
      },
      markDelivered: async () => {},
      defer: async () => {},
      running: () => ++rounds < 5,
      sleep: async () => {},
      onError: () => {},
      settings: { busIdlePollMinMs: 50, busIdlePollMaxMs: 500, standbyPollMs: 500 },
    });
    expect(puts).toBe(0);
  });
});
