import { describe, expect, it } from 'vitest';
import {
  drainOutboxToQueue,
  lanesByCustomer,
  publishRound,
} from '../../../functions/relay/drain-outbox.ts';
import { events, fakeRelay, perCustomer } from './fake-outbox.ts';

describe('drainOutboxToQueue', () => {
  it('drains the whole outbox in outbox order per customer, marking each event once', async () => {
    const outbox = events(250, 7);
    const relay = fakeRelay(outbox);
    const run = await drainOutboxToQueue(relay.ports);
    expect(run.published).toBe(250);
    expect([...relay.marked].sort()).toEqual(outbox.map((item) => item.eventId).sort());
    expect(perCustomer(relay.queue)).toEqual(perCustomer(outbox));
  });

  it('polls an empty outbox every few tens of milliseconds, backing off to the maximum', async () => {
    const relay = fakeRelay([], { runMs: 500 });
    await drainOutboxToQueue(relay.ports);
    expect(relay.sleeps.slice(0, 5)).toEqual([10, 20, 40, 50, 50]);
    expect(Math.max(...relay.sleeps)).toBe(50);
  });

  it('stops when the invocation is nearly over and gives the lease back', async () => {
    let released = 0;
    const relay = fakeRelay([], {
      runMs: 1_000,
      lease: { ensureHeld: async () => true, token: '7', release: async () => void released++ },
    });
    await drainOutboxToQueue(relay.ports);
    expect(relay.now()).toBeGreaterThanOrEqual(1_000);
    expect(relay.now()).toBeLessThan(1_100);
    expect(released).toBe(1);
  });

  it('without the lease, never reads or sends: it waits as a standby', async () => {
    const relay = fakeRelay(events(20, 2), {
      runMs: 2_000,
      lease: { ensureHeld: async () => false, token: undefined, release: async () => {} },
    });
    const run = await drainOutboxToQueue(relay.ports);
    expect(run.published).toBe(0);
    expect(relay.sends).toEqual([]);
    expect(new Set(relay.sleeps)).toEqual(new Set([500]));
  });

  it('stops publishing as soon as a mark is fenced out by a newer lease holder', async () => {
    const outbox = events(100, 10);
    const relay = fakeRelay(outbox, { fenceAfterMarks: 20, runMs: 0, sendLanes: 1 });
    const round = await publishRound(relay.ports, outbox);
    expect(round.fenced).toBe(true);
    expect(relay.marked).toHaveLength(20);
    // One lane of ten customers: the batch whose mark was fenced is the last one sent.
    expect(relay.sends).toHaveLength(3);
  });

  it('starts a backlog after a quiet spell at half the rate (the warm-up), then reaches the full rate', async () => {
    const relay = fakeRelay(events(2_000, 50), { ratePerSecond: 200, runMs: 30_000, sendLanes: 1 });
    const sendTimes: number[] = [];
    const send = relay.ports.sendBatch;
    relay.ports.sendBatch = (batch) => {
      for (const _ of batch) sendTimes.push(relay.now());
      return send(batch);
    };
    await drainOutboxToQueue(relay.ports);
    const inSecond = (s: number) =>
      sendTimes.filter((t) => t >= s * 1000 && t < (s + 1) * 1000).length;
    // Second 0 of a 3 s ramp from 100/s to 200/s: ~108 events plus a batch of slack.
    expect(inSecond(0)).toBeLessThanOrEqual(130);
    expect(inSecond(5)).toBeGreaterThanOrEqual(190);
    expect(inSecond(5)).toBeLessThanOrEqual(210);
  });
});

describe('publishRound: per-customer order', () => {
  it('never has two sends of one customer in flight, while lanes send different customers side by side', async () => {
    const outbox = events(100, 12);
    const relay = fakeRelay(outbox);
    await publishRound(relay.ports, outbox);
    expect(relay.concurrentSameCustomer).toEqual(new Set());
    expect(perCustomer(relay.queue)).toEqual(perCustomer(outbox));
    // Four lanes: the first four sends started before any of them finished.
    expect(
      new Set(relay.sends.slice(0, 4).flatMap((batch) => batch.map((e) => e.aggregateId))).size,
    ).toBeGreaterThan(3);
  });

  it('keeps every customer in one lane, in outbox order, spreading customers over the lanes', () => {
    const lanes = lanesByCustomer(events(40, 8), 4);
    expect(lanes).toHaveLength(4);
    for (const lane of lanes) {
      const customers = new Set(lane.map((item) => item.aggregateId));
      expect(customers.size).toBe(2);
      const ids = lane.map((item) => item.eventId);
      expect(ids).toEqual([...ids].sort());
    }
  });
});

describe('publishRound: partial batch failure', () => {
  it('marks only what the queue took, holds back the failed customer behind its failure, and carries on with the others', async () => {
    const outbox = events(30, 3); // cus_0: e0000, e0003, ...
    const relay = fakeRelay(outbox, {
      reject: (item, attempt) => item.eventId === 'e0003' && attempt === 1,
    });
    const round = await publishRound(relay.ports, outbox);
    expect(round.failed).toBe(1);
    expect(relay.marked).not.toContain('e0003');
    // cus_0's events after the failed one were not sent in this round…
    const cus0Sent = relay.queue
      .filter((item) => item.aggregateId === 'cus_0')
      .map((e) => e.eventId);
    expect(cus0Sent).toEqual(['e0000']);
    // …while the other customers were all published.
    expect(relay.queue.filter((item) => item.aggregateId !== 'cus_0')).toHaveLength(20);
  });

  it('publishes the failed event before the rest of its customer on the next round', async () => {
    const outbox = events(30, 3);
    const relay = fakeRelay(outbox, {
      reject: (item, attempt) => item.eventId === 'e0003' && attempt === 1,
    });
    const run = await drainOutboxToQueue(relay.ports);
    expect(run.published).toBe(30);
    expect(run.failed).toBe(1);
    expect(perCustomer(relay.queue)).toEqual(perCustomer(outbox));
    // Each round published something, so the relay went straight on without backing off.
    expect(relay.sleeps).not.toContain(100);
  });

  it('backs off, doubling, while the queue takes nothing', async () => {
    const relay = fakeRelay(events(10, 2), { reject: () => true, runMs: 5_000 });
    const run = await drainOutboxToQueue(relay.ports);
    expect(run.published).toBe(0);
    expect(relay.sleeps.filter((ms) => ms >= 100).slice(0, 6)).toEqual([
      100, 200, 400, 800, 1600, 2000,
    ]);
  });
});
