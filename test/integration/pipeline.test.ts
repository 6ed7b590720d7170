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

async function allAppliedOnce(p: Pipeline): Promise<boolean> {
  const counts = [...(await applications(p)).values()];
  return counts.length > 0 && counts.every((n) => n === 1);
}

const unpublished = unpublishedEvents;

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
    // Published but not marked: SQS has the events, the outbox still lists them as pending.
    expect(await unpublished(pipeline)).toBe(20);
    await waitFor('the first publication applied', () => allAppliedOnce(pipeline as Pipeline));

    const restarted = await pipeline.startRelay();
    await waitFor('outbox drained', async () => (await unpublished(pipeline as Pipeline)) === 0);
    expect(restarted.metrics.value('relay_published_total')).toBe(20);
    // Within the 5-minute window SQS drops the re-sends itself; the ledger is unchanged.
    expect([...(await applications(pipeline)).values()]).toEqual(Array(20).fill(1));
    expect(consumer.metrics.value('ledger_applied_total')).toBe(20);
  });

  it('keeps one application when the re-publish arrives after the SQS deduplication window', async () => {
    pipeline = await createPipeline(endpoint);
    const api = await pipeline.startApi();
    await makeCharges(api.url, 20);
    const consumer = await pipeline.startConsumer();

    const crashing = await pipeline.startRelay({ FAILPOINTS: 'relay.after-publish=crash' });
    expect(await crashing.service.exited).toBe('SIGKILL');
    await waitFor('the first publication applied', () => allAppliedOnce(pipeline as Pipeline));
    await waitFor(
      'queue empty',
      async () => (await pipeline?.queueDepth(pipeline.queues.queueUrl)) === 0,
    );

    // Five minutes pass: the broker no longer remembers the deduplication ids.
    await pipeline.forgetDeduplication();
    await pipeline.startRelay();
    await waitFor('outbox drained', async () => (await unpublished(pipeline as Pipeline)) === 0);
    await waitFor(
      'every re-published event reached the inbox',
      async () => consumer.metrics.value('inbox_duplicate_total') === 20,
    );
    expect([...(await applications(pipeline)).values()]).toEqual(Array(20).fill(1));
    expect(consumer.metrics.value('ledger_applied_total')).toBe(20);
  });

  it('absorbs the redelivery when the consumer dies after applying and before the delete', async () => {
    pipeline = await createPipeline(endpoint);
    const api = await pipeline.startApi();
    await makeCharges(api.url, 10, 1);
    await pipeline.startRelay();
    await waitFor('outbox drained', async () => (await unpublished(pipeline as Pipeline)) === 0);

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

  it('moves a poison message to the DLQ after maxReceiveCount while other customers keep flowing', async () => {
    pipeline = await createPipeline(endpoint);
    const api = await pipeline.startApi();
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.queues.queueUrl,
        MessageBody: JSON.stringify({ eventId: 'not-a-uuid', type: 'charge.created', data: {} }),
        MessageGroupId: 'cus_poison',
        MessageDeduplicationId: 'poison-1',
      }),
    );
    const relay = await pipeline.startRelay();
    const consumer = await pipeline.startConsumer();
    await makeCharges(api.url, 10);
    await waitFor('healthy customers applied', () => allAppliedOnce(pipeline as Pipeline));

    await waitFor(
      'poison message dead-lettered',
      async () => (await pipeline?.queueDepth(pipeline.queues.deadLetterQueueUrl)) === 1,
    );
    await waitFor(
      'DLQ depth reported',
      async () => relay.metrics.value('dead_letter_queue_depth') === 1,
    );
    expect(await pipeline.queueDepth(pipeline.queues.queueUrl)).toBe(0);
    expect(consumer.metrics.value('ledger_applied_total')).toBe(10);
    const { rows } = await pipeline.db.pool.query('SELECT count(*)::int AS n FROM ledger.inbox');
    expect(rows[0].n).toBe(10);
    // It was received maxReceiveCount times before SQS moved it.
    const dead = await pipeline.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: pipeline.queues.deadLetterQueueUrl,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect(dead.Messages?.[0]?.Body).toContain('not-a-uuid');
    expect(Number(dead.Messages?.[0]?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(
      TEST_MAX_RECEIVE_COUNT,
    );
  });

  it('lets two relays drain one backlog together without either sending an event the other sent', async () => {
    pipeline = await createPipeline(endpoint);
    await insertBacklog(pipeline, 3000);
    const env = { RELAY_MAX_EVENTS_PER_SECOND: '1500' };
    const [first, second] = await Promise.all([pipeline.startRelay(env), pipeline.startRelay(env)]);
    await waitFor('outbox drained', async () => (await unpublished(pipeline as Pipeline)) === 0);
    await waitFor(
      'metrics flushed',
      async () =>
        first.metrics.value('relay_published_total') +
          second.metrics.value('relay_published_total') ===
        3000,
    );
    console.log(
      `two relays: ${first.metrics.value('relay_published_total')} + ${second.metrics.value('relay_published_total')} events`,
    );
    expect(first.metrics.value('relay_published_total')).toBeGreaterThan(0);
    expect(second.metrics.value('relay_published_total')).toBeGreaterThan(0);
    expect(await pipeline.queueDepth(pipeline.queues.queueUrl)).toBe(3000);
  });
});
