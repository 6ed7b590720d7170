import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CHARGE_EVENT_SOURCE,
  type ChargeEventForBus,
  putChargeEventsOnBus,
} from '../../functions/relay/event-bus-publisher.ts';

const BUS = 'payments-bus';
const eventBridge = mockClient(EventBridgeClient);
const client = new EventBridgeClient({ region: 'eu-west-1' });

function chargeEvents(count: number): ChargeEventForBus[] {
  return Array.from({ length: count }, (_, index) => ({
    eventId: `evt-${index}`,
    type: 'ChargeCreated',
    aggregateId: `cus_${index % 3}`,
    payload: { chargeId: `ch-${index}`, amount: 1000 + index, currency: 'EUR' },
    createdAt: new Date(Date.UTC(2025, 0, 1, 12, 0, index)),
  }));
}

/** A PutEvents response accepting every entry except those at `rejected` indexes. */
function response(entryCount: number, rejected: number[] = []) {
  return {
    FailedEntryCount: rejected.length,
    Entries: Array.from({ length: entryCount }, (_, index) =>
      rejected.includes(index)
        ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }
        : { EventId: `eb-${index}` },
    ),
  };
}

function sentEventIds(callIndex: number): string[] {
  const entries = eventBridge.commandCalls(PutEventsCommand)[callIndex]?.args[0].input.Entries;
  return (entries ?? []).map((entry) => JSON.parse(entry.Detail ?? '{}').eventId);
}

describe('putChargeEventsOnBus', () => {
  const delays: number[] = [];
  const options = {
    sleep: async (ms: number) => {
      delays.push(ms);
    },
    random: () => 0.5,
  };

  beforeEach(() => {
    eventBridge.reset();
    delays.length = 0;
  });

  it('retries only the entries EventBridge rejected, then reports every event published', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce(response(3, [1]))
      .resolves(response(1));

    const result = await putChargeEventsOnBus(client, BUS, chargeEvents(3), options);

    expect(result).toEqual({
      publishedIds: ['evt-0', 'evt-2', 'evt-1'],
      failedIds: [],
      failures: [],
    });
    expect(sentEventIds(0)).toEqual(['evt-0', 'evt-1', 'evt-2']);
    expect(sentEventIds(1)).toEqual(['evt-1']);
    expect(delays).toHaveLength(1);
  });

  it('reports an entry that keeps failing, so the relay leaves it pending, after bounded attempts', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: { Detail: string }[] }) => {
      const rejected = input.Entries.flatMap((entry, index) =>
        JSON.parse(entry.Detail).eventId === 'evt-1' ? [index] : [],
      );
      return response(input.Entries.length, rejected);
    });

    const result = await putChargeEventsOnBus(client, BUS, chargeEvents(3), {
      ...options,
      maxAttempts: 4,
    });

    expect(result.publishedIds).toEqual(['evt-0', 'evt-2']);
    expect(result.failedIds).toEqual(['evt-1']);
    expect(result.failures).toEqual([
      { eventId: 'evt-1', errorCode: 'ThrottlingException', errorMessage: 'Rate exceeded' },
    ]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(4);
    // Full jitter under a doubling ceiling: 0.5 x 50, 100, 200 ms.
    expect(delays).toEqual([25, 50, 100]);
  });

  it('counts a call that throws as every entry in it failing, and retries them', async () => {
    eventBridge.on(PutEventsCommand).rejectsOnce(new Error('socket hang up')).resolves(response(2));

    const result = await putChargeEventsOnBus(client, BUS, chargeEvents(2), options);

    expect(result.publishedIds).toEqual(['evt-0', 'evt-1']);
    expect(result.failedIds).toEqual([]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(2);
  });

  it('reports every event failed when the bus stays unreachable', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('connect ETIMEDOUT'));

    const result = await putChargeEventsOnBus(client, BUS, chargeEvents(2), options);

    expect(result.publishedIds).toEqual([]);
    expect(result.failedIds).toEqual(['evt-0', 'evt-1']);
    expect(result.failures.map((failure) => failure.errorMessage)).toEqual([
      'connect ETIMEDOUT',
      'connect ETIMEDOUT',
    ]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(3);
  });

  it('sends at most ten entries per PutEvents call', async () => {
    eventBridge
      .on(PutEventsCommand)
      .callsFake((input: { Entries: unknown[] }) => response(input.Entries.length));

    const result = await putChargeEventsOnBus(client, BUS, chargeEvents(23), options);

    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
    expect(result.publishedIds).toEqual(chargeEvents(23).map((event) => event.eventId));
    expect(result.failedIds).toEqual([]);
  });

  it('puts each event on the named bus with its id, type and customer in the detail', async () => {
    eventBridge.on(PutEventsCommand).resolves(response(1));
    const [event] = chargeEvents(1);
    if (!event) throw new Error('no event');

    await putChargeEventsOnBus(client, BUS, [event], options);

    const entry = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      EventBusName: BUS,
      Source: CHARGE_EVENT_SOURCE,
      DetailType: 'ChargeCreated',
      Time: event.createdAt,
    });
    expect(JSON.parse(entry?.Detail ?? '')).toEqual({
      eventId: 'evt-0',
      type: 'ChargeCreated',
      aggregateId: 'cus_0',
      occurredAt: '2025-01-01T12:00:00.000Z',
      data: event.payload,
    });
  });

  it('makes no call for an empty outbox', async () => {
    const result = await putChargeEventsOnBus(client, BUS, [], options);

    expect(result).toEqual({ publishedIds: [], failedIds: [], failures: [] });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});
