import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SqsEndpoint } from '../../scripts/local/sqs.ts';
import { getJson, newKey, postCharge } from '../support/http.ts';
import { CLIENT_A } from '../support/local-api.ts';
import {
  createPipeline,
  insertBacklog,
  type Pipeline,
  startSqsEndpoint,
  TEST_MAX_RECEIVE_COUNT,
  unpublishedEvents,
  waitFor,
} from '../support/pipeline.ts';

let endpoint: SqsEndpoint;
let pipeline: Pipeline | undefined;

beforeAll(async () => {
  endpoint = await startSqsEndpoint();
});
afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
});
afterAll(() => endpoint?.stop());

async function makeCharges(url: string, count: number, customers = 5): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const answer = await postCharge(url, {
      apiKey: CLIENT_A.apiKey,
      idempotencyKey: newKey(),
      body: { amount: 100 + i, currency: 'EUR', customerId: `cus_${i % customers}` },
    });
    expect(answer.status).toBe(201);
    ids.push(String(answer.json().id));
  }
  return ids;
}

/** Ledger applications per charge, straight from the postings. */
async function applications(p: Pipeline): Promise<Map<string, number>> {
  const { rows } = await p.db.pool.query<{ id: string; n: number }>(
    `SELECT c.id, count(lp.id)::int AS n FROM charges c
       LEFT JOIN ledger.postings lp ON lp.charge_id = c.id AND lp.direction = 'debit'
      GROUP BY c.id`,
  );
  return new Map(rows.map((row) => [row.id, row.n]));
}

/** Charges with at least one ledger application. */
async function appliedCharges(p: Pipeline): Promise<number> {
  return [...(await applications(p)).values()].filter((n) => n > 0).length;
}

async function allAppliedOnce(p: Pipeline): Promise<boolean> {
  const counts = [...(await applications(p)).values()];
  return counts.length > 0 && counts.every((n) => n === 1);
}

describe('outbox → SQS FIFO → ledger', () => {
  it('applies every charge exactly once and reports it on GET /charges/{id}', async () => {
    pipeline = await createPipeline(endpoint);
    const api = await pipeline.startApi();
    const ids = await makeCharges(api.url, 30);
    const before = (await getJson(api.url, `/charges/${ids[0]}`, CLIENT_A.apiKey)).json();
    expect(before.ledger).toEqual({ applied: false, applications: 0 });

    const relay = await pipeline.startRelay();
    const consumer = await pipeline.startConsumer();
    await waitFor('every charge applied', () => allAppliedOnce(pipeline as Pipeline));

    for (const id of ids) {
      const charge = (await getJson(api.url, `/charges/${id}`, CLIENT_A.apiKey)).json();
      expect(charge.ledger).toEqual({ applied: true, applications: 1 });
    }
    await waitFor(
      'metrics flushed',
      async () => consumer.metrics.value('ledger_applied_total') === 30,
    );
    expect(relay.metrics.value('relay_published_total')).toBe(30);
    expect(consumer.metrics.value('inbox_duplicate_total')).toBe(0);
  });

  it('re-publishes after the relay is killed between publishing and marking, and the ledger applies once', async () => {
    pipeline = await createPipeline(endpoint);
    const api = await pipeline.startApi();
    await makeCharges(api.url, 20);
    const consumer = await pipeline.startConsumer();

    const crashing = await pipeline.startRelay({ FAILPOINTS: 'relay.after-publish=crash' });
    expect(await crashing.service.exited).toBe('SIGKILL');
    // Published but not marked: SQS has the first batch, the outbox still lists all as pending.
    expect(await unpublishedEvents(pipeline)).toBe(20);
    await waitFor(
      'the first batch applied',
      async () => (await appliedCharges(pipeline as Pipeline)) > 0,
    );

    const restarted = await pipeline.startRelay();
    await waitFor(
      'outbox drained',
      async () => (await unpublishedEvents(pipeline as Pipeline)) === 0,
    );
    expect(restarted.metrics.value('relay_published_total')).toBe(20);
    await waitFor('every charge applied', () => allAppliedOnce(pipeline as Pipeline));
    // Within the 5-minute window SQS drops the re-sends itself; the ledger is unchanged.
    expect([...(await applications(pipeline)).values()]).toEqual(Array(20).fill(1));
    await waitFor(
      'metrics flushed',
      async () => consumer.metrics.value('ledger_applied_total') === 20,
    );
    expect(consumer.metrics.value('inbox_duplicate_total')).toBe(0);
  });

  it('keeps one application when the re-publish arrives after the SQS deduplication window', async () => {
    pipeline = await createPipeline(endpoint);
    const api = await pipeline.startApi();
    await makeCharges(api.url, 20);
    const consumer = await pipeline.startConsumer();

    const crashing = await pipeline.startRelay({ FAILPOINTS: 'relay.after-publish=crash' });
    expect(await crashing.service.exited).toBe('SIGKILL');
    await waitFor(
      'the first batch applied',
      async () => (await appliedCharges(pipeline as Pipeline)) > 0,
    );
    await waitFor(
      'queue empty',
      async () => (await pipeline?.queueDepth(pipeline.queues.queueUrl)) === 0,
    );
    // Every event the crashed relay got onto the queue is now applied; all 20 stay unmarked.
    const appliedBeforeRestart = await appliedCharges(pipeline);
    expect(await unpublishedEvents(pipeline)).toBe(20);

    // Five minutes pass: the broker no longer remembers the deduplication ids.
    await pipeline.forgetDeduplication();
    await pipeline.startRelay();
    await waitFor(
      'outbox drained',
      async () => (await unpublishedEvents(pipeline as Pipeline)) === 0,
    );
    await waitFor('every charge applied', () => allAppliedOnce(pipeline as Pipeline));
    await waitFor(
      'every re-published event reached the inbox',
      async () => consumer.metrics.value('inbox_duplicate_total') === appliedBeforeRestart,
    );
    expect([...(await applications(pipeline)).values()]).toEqual(Array(20).fill(1));
    await waitFor(
      'metrics flushed',
      async () => consumer.metrics.value('ledger_applied_total') === 20,
    );
  });

  it('absorbs the redelivery when the consumer dies after applying and before the delete', async () => {
    pipeline = await createPipeline(endpoint);
    const api = await pipeline.startApi();
    await makeCharges(api.url, 10, 1);
    await pipeline.startRelay();
    await waitFor(
      'outbox drained',
      async () => (await unpublishedEvents(pipeline as Pipeline)) === 0,
    );

    const crashing = await pipeline.startConsumer({ FAILPOINTS: 'consumer.after-apply=crash' });
    expect(await crashing.service.exited).toBe('SIGKILL');
    const { rows } = await pipeline.db.pool.query('SELECT count(*)::int AS n FROM ledger.inbox');
    expect(rows[0].n).toBe(1);

    // The batch was never deleted: after the visibility timeout it comes back.
    const restarted = await pipeline.startConsumer();
    await waitFor('every charge applied', () => allAppliedOnce(pipeline as Pipeline));
    await waitFor(
      'the redelivery counted',
      async () => restarted.metrics.value('inbox_duplicate_total') >= 1,
    );
    expect(restarted.metrics.value('ledger_applied_total')).toBe(9);
    expect([...(await applications(pipeline)).values()]).toEqual(Array(10).fill(1));
  });

  it("moves a poison message to the DLQ at once, with its reason, and applies the same customer's charges behind it within 5 s", async () => {
    pipeline = await createPipeline(endpoint);
    const api = await pipeline.startApi();
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.queues.queueUrl,
        MessageBody: JSON.stringify({ eventId: 'not-a-uuid', type: 'charge.created', data: {} }),
        MessageGroupId: 'cus_0',
        MessageDeduplicationId: 'poison-1',
        MessageAttributes: { eventType: { DataType: 'String', StringValue: 'charge.created' } },
      }),
    );
    // The same customer's charges (makeCharges with one customer: cus_0), queued behind it.
    await makeCharges(api.url, 3, 1);
    const relay = await pipeline.startRelay();
    await waitFor(
      'outbox drained',
      async () => (await unpublishedEvents(pipeline as Pipeline)) === 0,
    );
    const consumer = await pipeline.startConsumer();
    const consumerReadyAt = new Date();
    await waitFor('the three charges applied', () => allAppliedOnce(pipeline as Pipeline));

    // Each applied within 5 s of reaching the queue, the poison one before them notwithstanding.
    const { rows: waits } = await pipeline.db.pool.query<{ seconds: number }>(
      `SELECT extract(epoch FROM i.processed_at - greatest(o.published_at, $1::timestamptz))::float8 AS seconds
         FROM outbox o JOIN ledger.inbox i ON i.event_id = o.event_id`,
      [consumerReadyAt],
    );
    expect(waits).toHaveLength(3);
    for (const { seconds } of waits) expect(seconds).toBeLessThan(5);

    await waitFor(
      'DLQ depth reported',
      async () => relay.metrics.value('dead_letter_queue_depth') === 1,
    );
    expect(await pipeline.queueDepth(pipeline.queues.queueUrl)).toBe(0);
    expect(await pipeline.queueDepth(pipeline.queues.deadLetterQueueUrl)).toBe(1);
    await waitFor(
      'metrics flushed',
      async () => consumer.metrics.value('poison_message_total') === 1,
    );
    expect(consumer.metrics.value('ledger_applied_total')).toBe(3);
    const dead = await pipeline.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: pipeline.queues.deadLetterQueueUrl,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const message = dead.Messages?.[0];
    expect(message?.Body).toContain('not-a-uuid');
    // Dead-lettered by the consumer on the first receive, not by SQS after maxReceiveCount.
    expect(Number(message?.Attributes?.ApproximateReceiveCount)).toBeLessThan(
      TEST_MAX_RECEIVE_COUNT,
    );
    expect(message?.MessageAttributes?.deadLetterReason?.StringValue).toContain('eventId');
    expect(message?.MessageAttributes?.eventType?.StringValue).toBe('charge.created');
    expect(message?.Attributes?.MessageGroupId).toBe('cus_0');
  });

  it('lets only one of two relays publish at a time, and sends every event once', async () => {
    pipeline = await createPipeline(endpoint);
    await insertBacklog(pipeline, 3000);
    const env = { RELAY_MAX_EVENTS_PER_SECOND: '1500' };
    const [first, second] = await Promise.all([pipeline.startRelay(env), pipeline.startRelay(env)]);
    await waitFor(
      'outbox drained',
      async () => (await unpublishedEvents(pipeline as Pipeline)) === 0,
    );
    await waitFor(
      'metrics flushed',
      async () =>
        first.metrics.value('relay_published_total') +
          second.metrics.value('relay_published_total') ===
        3000,
    );
    // One lease holder drained it all: the other never took over from a live holder.
    expect(
      [first, second].map((relay) => relay.metrics.value('relay_published_total')).sort(),
    ).toEqual([0, 3000]);
    expect(await pipeline.queueDepth(pipeline.queues.queueUrl)).toBe(3000);
  });
});
