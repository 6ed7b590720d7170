import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AWS_REQUEST_TIMEOUT_MS } from '../../functions/commons/aws-client-options.ts';
import type { SqsEndpoint } from '../../scripts/local/sqs.ts';
import {
  type EventBridgeEndpoint,
  startEventBridgeEndpoint,
} from '../support/event-bridge-endpoint.ts';
import { newKey, postCharge } from '../support/http.ts';
import { CLIENT_A } from '../support/local-api.ts';
import {
  createPipeline,
  insertBacklog,
  type Pipeline,
  startSqsEndpoint,
  unpublishedEvents,
  waitFor,
} from '../support/pipeline.ts';

let endpoint: SqsEndpoint;
let pipeline: Pipeline | undefined;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  endpoint = await startSqsEndpoint();
});
afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(() => endpoint?.stop());

async function makeCharges(url: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const answer = await postCharge(url, {
      apiKey: CLIENT_A.apiKey,
      idempotencyKey: newKey(),
      body: { amount: 100 + i, currency: 'EUR', customerId: `cus_${i % 4}` },
    });
    expect(answer.status).toBe(201);
    ids.push(String(answer.json().id));
  }
  return ids;
}

async function count(p: Pipeline, sql: string): Promise<number> {
  return (await p.db.pool.query<{ n: number }>(sql)).rows[0]?.n ?? 0;
}

/** Debit postings per charge: the number of times the ledger applied it. */
async function applicationsOf(p: Pipeline, chargeId: string): Promise<number> {
  return (
    (
      await p.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ledger.postings WHERE charge_id = $1 AND direction = 'debit'`,
        [chargeId],
      )
    ).rows[0]?.n ?? 0
  );
}

/**
 * A TCP endpoint for the relay's SQS client that, while `hanging`, accepts connections and
 * never answers (nor reads a reply from anywhere); otherwise it pipes to the real endpoint.
 */
async function startHangingProxy(target: string): Promise<{
  url: string;
  hanging: boolean;
  stop(): Promise<void>;
}> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const proxy = { url: '', hanging: true, stop: async () => {} };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (proxy.hanging) return;
    const onward = createConnection({ host: upstream.hostname, port: Number(upstream.port) });
    onward.on('error', () => socket.destroy());
    socket.pipe(onward).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  proxy.url = `http://127.0.0.1:${address.port}`;
  proxy.stop = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return proxy;
}

describe('the relay under broker faults', () => {
  it('applies the ledger while EventBridge fails, and delivers to the bus once it recovers', async () => {
    const bus: EventBridgeEndpoint = await startEventBridgeEndpoint();
    cleanups.push(() => bus.stop());
    bus.failing = true;
    pipeline = await createPipeline(endpoint);
    const api = await pipeline.startApi();
    const relay = await pipeline.startRelay({
      PUBLISH_TO_EVENT_BUS: 'true',
      EVENT_BUS_NAME: 'payments-test-bus',
      AWS_ENDPOINT_URL_EVENTBRIDGE: bus.url,
    });
    await pipeline.startConsumer();
    const ids = await makeCharges(api.url, 20);

    await waitFor('every charge applied while the bus is down', async () => {
      const applied = await Promise.all(ids.map((id) => applicationsOf(pipeline as Pipeline, id)));
      return applied.every((n) => n === 1);
    });
    expect(await unpublishedEvents(pipeline)).toBe(0);
    // The bus has its own delivery loop, which may not have tried yet when the ledger is
    // already applied: wait until it has been refused, with the bus still down.
    await waitFor('the bus refused a delivery', async () => bus.rejectedCalls > 0);
    expect(bus.accepted).toEqual([]);
    expect(
      await count(pipeline, 'SELECT count(*)::int AS n FROM outbox WHERE bus_published_at IS NULL'),
    ).toBe(20);

    bus.failing = false;
    await waitFor(
      'the bus caught up',
      async () =>
        (await count(
          pipeline as Pipeline,
          'SELECT count(*)::int AS n FROM outbox WHERE bus_published_at IS NULL',
        )) === 0,
    );
    const eventIds = (
      await pipeline.db.pool.query<{ event_id: string }>('SELECT event_id FROM outbox')
    ).rows.map((row) => row.event_id);
    expect(new Set(bus.accepted)).toEqual(new Set(eventIds));
    await waitFor(
      'metrics flushed',
      async () => relay.metrics.value('relay_published_total') === 20,
    );
  });

  it('holds no transaction longer than the SDK timeout while SQS never answers for 60 s, then flushes the backlog', async () => {
    pipeline = await createPipeline(endpoint);
    const proxy = await startHangingProxy(endpoint.endpoint);
    cleanups.push(() => proxy.stop());
    await insertBacklog(pipeline, 500);
    await pipeline.startRelay({ AWS_ENDPOINT_URL: proxy.url });

    // Every transaction open in this database, sampled through the whole outage.
    let oldestTransactionMs = 0;
    const hangUntil = Date.now() + 60_000;
    while (Date.now() < hangUntil) {
      const { rows } = await pipeline.db.pool.query<{ age_ms: number | null }>(
        `SELECT max(extract(epoch FROM clock_timestamp() - xact_start))::float8 * 1000 AS age_ms
           FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      oldestTransactionMs = Math.max(oldestTransactionMs, rows[0]?.age_ms ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await unpublishedEvents(pipeline)).toBe(500);
    console.log(`oldest transaction while SQS hung: ${oldestTransactionMs.toFixed(0)} ms`);
    expect(oldestTransactionMs).toBeLessThan(AWS_REQUEST_TIMEOUT_MS);

    proxy.hanging = false;
    await waitFor(
      'backlog flushed',
      async () => (await unpublishedEvents(pipeline as Pipeline)) === 0,
    );
    expect(await pipeline.queueDepth(pipeline.queues.queueUrl)).toBe(500);
  }, 150_000);

  it('re-enqueues a charge whose message was deleted before the consumer saw it, and applies it once', async () => {
    pipeline = await createPipeline(endpoint);
    const api = await pipeline.startApi();
    const relay = await pipeline.startRelay({
      RECONCILE_AFTER_SECONDS: '2',
      RECONCILE_INTERVAL_MS: '300',
    });
    const chargeId = String((await makeCharges(api.url, 1))[0]);
    await waitFor('published', async () => (await unpublishedEvents(pipeline as Pipeline)) === 0);

    // An operator purge, a deleted queue: the message is gone and the outbox says published.
    const received = await pipeline.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: pipeline.queues.queueUrl, WaitTimeSeconds: 5 }),
    );
    expect(received.Messages).toHaveLength(1);
    await pipeline.sqs.send(
      new DeleteMessageCommand({
        QueueUrl: pipeline.queues.queueUrl,
        ReceiptHandle: received.Messages?.[0]?.ReceiptHandle,
      }),
    );
    const consumer = await pipeline.startConsumer();

    const gaugeSeen: number[] = [];
    await waitFor('applied by reconciliation', async () => {
      gaugeSeen.push(relay.metrics.value('unapplied_charges'));
      return (await applicationsOf(pipeline as Pipeline, chargeId)) === 1;
    });
    await waitFor('gauge back to 0', async () => {
      gaugeSeen.push(relay.metrics.value('unapplied_charges'));
      return gaugeSeen.at(-1) === 0;
    });
    expect(Math.max(...gaugeSeen)).toBe(1);
    expect(relay.metrics.value('reconciliation_requeued_total')).toBe(1);
    expect(await applicationsOf(pipeline, chargeId)).toBe(1);
    await waitFor(
      'metrics flushed',
      async () => consumer.metrics.value('ledger_applied_total') === 1,
    );
    expect(consumer.metrics.value('inbox_duplicate_total')).toBe(0);
  });
});
