import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChargeClient } from '../../client/charge-client.ts';
import { ClientMetrics } from '../../client/metrics.ts';
import { RetryBudget } from '../../client/retry-budget.ts';
import { messageBodyOf } from '../../functions/relay/sqs-publisher.ts';
import { type ChildService, startChild } from '../../scripts/local/child-process.ts';
import { synthPayments } from '../cdk/support/synth-payments.ts';
import { postCharge, VALID_CHARGE } from '../support/http.ts';
import { CLIENT_A } from '../support/local-api.ts';
import { createPipeline, type Pipeline, startSqsEndpoint, waitFor } from '../support/pipeline.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { startBundle } from './bundles/bundle-process.ts';
import {
  type EmittedMetric,
  emittedMetrics,
  missingEmissions,
  requiredMetrics,
  satisfies,
  satisfiesSearch,
} from './emitters/required-metrics.ts';

const handlerPath = (name: string) =>
  fileURLToPath(new URL(`../../functions/${name}/handler.ts`, import.meta.url));
const HOUSEKEEPING_HANDLER = handlerPath('housekeeping');
const RECONCILIATION_HANDLER = handlerPath('reconciliation');

/**
 * Issue 16, item 4: every metric an alarm or a dashboard widget reads (namespace, name,
 * dimensions, from the synthesized template) is emitted, with exactly those dimensions, by
 * the functions (and the client writing EMF) during a local run that exercises each path:
 * new, replay, in-flight and mismatched keys, retries up to a 4th attempt, a 5xx, a relay
 * run, a ledger application, a duplicate and a poison message, a lost message reconciliation
 * re-enqueues, housekeeping, the Redis tier. AWS's own
 * metrics (AWS/SQS, AWS/ApiGateway) are left out: AWS emits them whatever the code does.
 */
describe('every metric the alarms and dashboard read is emitted', () => {
  const required = requiredMetrics(synthPayments().statelessTemplate);
  const lines: string[] = [];
  let endpoint: Awaited<ReturnType<typeof startSqsEndpoint>>;
  let pipeline: Pipeline;
  let redis: TestRedis;
  const services: ChildService[] = [];

  /** What a scheduled function needs here: the database and the metric settings. */
  const functionEnv = () => ({
    DATABASE_URL: String(pipeline.env.DATABASE_URL),
    POWERTOOLS_SERVICE_NAME: 'payments',
    POWERTOOLS_METRICS_NAMESPACE: 'EffectivelyOncePayments',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });

  const start = async (script: string, name: string, extra: Record<string, string> = {}) => {
    const service = startChild(script, {
      name,
      env: { ...pipeline.env, IDEMPOTENCY_CACHE: 'redis', REDIS_URL: redis.url, ...extra },
      onLine: (line) => lines.push(line),
    });
    services.push(service);
    return { service, ready: await service.ready };
  };

  beforeAll(async () => {
    endpoint = await startSqsEndpoint();
    pipeline = await createPipeline(endpoint);
    redis = await startTestRedis();

    // A 5xx: an API whose charge fails after the commit (as a lost connection would).
    const failing = await start('scripts/local/api-server.ts', 'api-error', {
      FAILPOINTS: 'charge.after-commit=error',
    });
    const failed = await postCharge(String(failing.ready.listening), {
      apiKey: CLIENT_A.apiKey,
      idempotencyKey: randomUUID(),
    });
    expect(failed.status).toBe(500);
    await failing.service.stop();

    // An in-flight key: an API that dies holding a claim for 10 minutes.
    const inFlightKey = randomUUID();
    const crashing = await start('scripts/local/api-server.ts', 'api-crash', {
      FAILPOINTS: 'charge.after-commit=crash',
      IDEMPOTENCY_IN_PROGRESS_SECONDS: '600',
    });
    await postCharge(String(crashing.ready.listening), {
      apiKey: CLIENT_A.apiKey,
      idempotencyKey: inFlightKey,
    }).catch(() => undefined);
    await crashing.service.exited;

    const api = await start('scripts/local/api-server.ts', 'api');
    const url = String(api.ready.listening);
    expect(
      (await postCharge(url, { apiKey: CLIENT_A.apiKey, idempotencyKey: inFlightKey })).status,
    ).toBe(409);

    // Attempts 1 to 4+: each response of the first `lost` attempts is lost after the server
    // answered, so the server sees every attempt (and replays the later ones).
    const clientLines: string[] = [];
    const clientMetrics = new ClientMetrics({ emf: (line) => clientLines.push(line) });
    const losing = (lost: number): typeof fetch => {
      let calls = 0;
      return async (input, init) => {
        const response = await fetch(input, init);
        calls += 1;
        if (calls <= lost) {
          await response.text();
          throw new TypeError('fetch failed (response lost)');
        }
        return response;
      };
    };
    for (const lost of [0, 1, 2, 3]) {
      const client = new ChargeClient({
        baseUrl: url,
        apiKey: CLIENT_A.apiKey,
        metrics: clientMetrics,
        maxAttempts: 5,
        baseDelayMs: 1,
        capDelayMs: 5,
        fetch: losing(lost),
      });
      const result = await client.createCharge({ ...VALID_CHARGE, customerId: `cus_${lost}` });
      expect(result.status).toBe(201);
    }
    // A client whose retry budget is spent: its retry is refused.
    const broke = new ChargeClient({
      baseUrl: url,
      apiKey: CLIENT_A.apiKey,
      metrics: clientMetrics,
      retryBudget: new RetryBudget({ capacity: 1 }),
      fetch: losing(Number.POSITIVE_INFINITY),
    });
    await expect(broke.createCharge(VALID_CHARGE)).rejects.toThrow(/budget/);
    lines.push(...clientLines);

    // A mismatch: the same key with another body.
    const key = randomUUID();
    expect((await postCharge(url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key })).status).toBe(
      201,
    );
    expect(
      (
        await postCharge(url, {
          apiKey: CLIENT_A.apiKey,
          idempotencyKey: key,
          body: { ...VALID_CHARGE, amount: 9999 },
        })
      ).status,
    ).toBe(422);

    // Relay and consumer; then a duplicate delivery the inbox absorbs.
    await start('scripts/local/relay-process.ts', 'relay');
    await start('scripts/local/consumer-process.ts', 'consumer');
    const { rows: charges } = await pipeline.db.pool.query(
      'SELECT count(*)::int AS n FROM charges',
    );
    await waitFor('the ledger to apply every charge', async () => {
      const { rows } = await pipeline.db.pool.query(
        `SELECT count(*)::int AS n FROM ledger.postings WHERE direction = 'debit'`,
      );
      return rows[0].n === charges[0].n;
    });
    const { rows: events } = await pipeline.db.pool.query(
      `SELECT event_id, aggregate_id, event_type, payload, created_at, republish_count FROM outbox LIMIT 1`,
    );
    const event = events[0];
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.queues.queueUrl,
        MessageGroupId: event.aggregate_id,
        MessageDeduplicationId: randomUUID(),
        MessageBody: messageBodyOf({
          eventId: event.event_id,
          aggregateId: event.aggregate_id,
          eventType: event.event_type,
          payload: event.payload,
          createdAt: event.created_at,
          republishCount: event.republish_count,
        }),
      }),
    );
    await waitFor('the duplicate to be absorbed', async () =>
      lines.some((line) => line.includes('"inbox_duplicate_total"')),
    );

    // A poison message: the consumer dead-letters it at once.
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.queues.queueUrl,
        MessageGroupId: 'cus_poison',
        MessageDeduplicationId: randomUUID(),
        MessageBody: 'not a charge event',
      }),
    );
    await waitFor('the poison message to be dead-lettered', async () =>
      lines.some((line) => line.includes('"poison_message_total"')),
    );

    // A charge whose message was lost after the relay marked it published, ten minutes ago:
    // reconciliation re-enqueues it.
    await pipeline.db.pool.query(
      `WITH lost AS (
         INSERT INTO charges (client_id, idempotency_key, request_fingerprint, customer_id, amount, currency, created_at)
         VALUES ('client-a', 'lost-' || gen_random_uuid(), 'lost', 'cus_lost', 100, 'EUR',
                 now() - interval '10 minutes')
         RETURNING *
       )
       INSERT INTO outbox (aggregate_id, event_type, payload, created_at, published_at, bus_published_at)
       SELECT customer_id, 'charge.created',
              jsonb_build_object('chargeId', id, 'clientId', client_id, 'customerId', customer_id,
                                 'amount', amount, 'currency', currency, 'createdAt', created_at),
              created_at, now() - interval '9 minutes', now() - interval '9 minutes'
         FROM lost`,
    );
    const reconciliation = await startBundle(RECONCILIATION_HANDLER, 'reconciliation', {
      ...functionEnv(),
      RECONCILE_AFTER_SECONDS: '60',
    });
    const reconciled = await reconciliation.invoke<{ requeuedEventIds: string[] }>({});
    expect(reconciled.requeuedEventIds.length).toBeGreaterThan(0);
    await reconciliation.stop();
    lines.push(...reconciliation.output);

    // Housekeeping, as its handler runs in Lambda.
    const housekeeping = await startBundle(HOUSEKEEPING_HANDLER, 'housekeeping', functionEnv());
    await housekeeping.invoke({}, 60_000);
    await housekeeping.stop();
    lines.push(...housekeeping.output);
    // The relay reports lag and DLQ depth on every run; make sure one ran after all of this.
    const before = lines.length;
    await waitFor('a relay run', async () =>
      lines.slice(before).some((line) => line.includes('"dead_letter_queue_depth"')),
    );
  }, 300_000);

  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    await pipeline?.stop();
    await redis?.close();
    await endpoint?.stop();
  });

  it('reads something: the alarms and dashboard need at least the SPEC metrics', () => {
    expect(required.metrics.length).toBeGreaterThanOrEqual(20);
    expect(required.searches.length).toBeGreaterThanOrEqual(1);
  });

  it('finds each one in the captured EMF, with the same dimensions', () => {
    expect(missingEmissions(required, emittedMetrics(lines))).toEqual([]);
  });

  it('would fail if any one emission were missing', () => {
    const emitted = emittedMetrics(lines);
    for (const metric of required.metrics) {
      const without = emitted.filter((candidate: EmittedMetric) => !satisfies(candidate, metric));
      expect(missingEmissions(required, without), metric.name).toHaveLength(1);
    }
    for (const search of required.searches) {
      const without = emitted.filter((candidate) => !satisfiesSearch(candidate, search));
      expect(missingEmissions(required, without), search.name).toHaveLength(1);
    }
  });
});
