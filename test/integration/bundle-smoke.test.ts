import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FUNCTION_NAMES } from '../../lib/config.ts';
import { databaseUrlOn, freePort, withAdminClient } from '../../scripts/local/embedded-postgres.ts';
import {
  createChargeEventQueues,
  LOCAL_AWS_ENV,
  type SqsEndpoint,
  sqsClientFor,
  startSqsEndpoint,
} from '../../scripts/local/sqs.ts';
import { startSqsEventSource } from '../../scripts/local/sqs-event-source.ts';
import { waitFor } from '../support/pipeline.ts';
import { type BundleProcess, startBundle } from './bundles/bundle-process.ts';
import { type IsolatedBundles, synthesizeIsolatedBundles } from './bundles/lambda-bundles.ts';
import { postChargeEvent, proxyEvent } from './bundles/proxy-events.ts';

/**
 * Issue 16, item 5: every deployable bundle, as `cdk synth` builds it, imported and invoked
 * on its own with only the runtime's packages (@aws-sdk) beside it, against the local
 * PostgreSQL and SQS. Catches what typecheck and the source-level tests cannot: a dependency
 * left external, a file not copied into the bundle, an ESM/CommonJS interop crash at import.
 */
describe('deployable bundles, each alone with only the runtime packages', () => {
  let bundles: IsolatedBundles;
  let endpoint: SqsEndpoint;
  let databaseUrl: string;
  let db: pg.Pool;
  const databaseName = `payments_bundles_${randomBytes(5).toString('hex')}`;
  const started: BundleProcess[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    bundles = synthesizeIsolatedBundles();
    const adminUrl = inject('adminUrl');
    // An empty database: the migrate bundle must build the schema from the SQL it ships.
    await withAdminClient(adminUrl, (admin) => admin.query(`CREATE DATABASE ${databaseName}`));
    databaseUrl = databaseUrlOn(adminUrl, databaseName);
    db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    endpoint = await startSqsEndpoint();
    const queues = await createChargeEventQueues(sqsClientFor(endpoint.endpoint), {
      name: `bundles-${randomBytes(4).toString('hex')}`,
      visibilityTimeoutSeconds: 5,
    });
    env = {
      ...LOCAL_AWS_ENV,
      AWS_ENDPOINT_URL: endpoint.endpoint,
      DATABASE_URL: databaseUrl,
      QUEUE_URL: queues.queueUrl,
      DLQ_URL: queues.deadLetterQueueUrl,
      POWERTOOLS_SERVICE_NAME: 'payments',
      POWERTOOLS_METRICS_NAMESPACE: 'EffectivelyOncePayments',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    };
  }, 600_000);

  afterAll(async () => {
    await Promise.all(started.map((bundle) => bundle.stop()));
    await db?.end();
    await endpoint?.stop();
    await withAdminClient(inject('adminUrl'), (admin) =>
      admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`),
    );
  });

  const invokedBundles = new Set<string>();
  const start = async (name: keyof IsolatedBundles, extra: Record<string, string> = {}) => {
    const bundle = await startBundle(bundles[name], name, { ...env, ...extra });
    started.push(bundle);
    invokedBundles.add(name);
    return bundle;
  };

  /**
   * The database URL for a function role (created by migration 0007), with a fresh password:
   * each bundle below connects as the role its function has in AWS, so the grants are
   * exercised by the real statements. (The charge role is exercised by
   * credential-rotation.test.ts, which owns its password.)
   */
  const asRole = async (role: string): Promise<Record<string, string>> => {
    const password = randomBytes(12).toString('hex');
    await db.query(`ALTER ROLE ${role} PASSWORD '${password}'`);
    const url = new URL(databaseUrl);
    url.username = role;
    url.password = password;
    return { DATABASE_URL: url.toString() };
  };

  it('each bundle directory holds only its own files, and nothing but @aws-sdk beside them', () => {
    for (const dir of Object.values(bundles)) {
      expect(readdirSync(dir)).not.toContain('node_modules');
      expect(readdirSync(join(dir, '..', 'node_modules'))).toEqual(['@aws-sdk']);
    }
  });

  it('migrate applies the SQL shipped in its bundle to an empty database', async () => {
    const migrate = await start('migrate');
    const result = await migrate.invoke<{ applied: string[] }>({}, 120_000);
    const shipped = readdirSync(join(bundles.migrate, 'migrations'))
      .filter((file) => file.endsWith('.sql'))
      .map((file) => file.replace(/\.sql$/, ''))
      .sort();
    expect(result.applied).toEqual(shipped);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('charges', 'outbox', 'idempotency_records', 'inbox', 'postings')`,
    );
    expect(rows[0].n).toBe(5);
  });

  it('migrate waits, retrying, for a database that is not reachable yet (a first deploy)', async () => {
    const name = `${databaseName}_late`;
    await withAdminClient(inject('adminUrl'), (admin) => admin.query(`CREATE DATABASE ${name}`));
    const server = new URL(inject('adminUrl'));
    const latePort = await freePort();
    const lateUrl = new URL(databaseUrlOn(inject('adminUrl'), name));
    lateUrl.port = String(latePort);
    const migrate = await start('migrate', {
      DATABASE_URL: lateUrl.toString(),
      POWERTOOLS_LOG_LEVEL: 'WARN',
    });
    const applying = migrate.invoke<{ applied: string[] }>({}, 120_000);
    // Nothing listens on the port until the "proxy" comes up a little later.
    await waitFor('a refused attempt', async () =>
      migrate.output.some((line) => line.includes('database not reachable yet')),
    );
    const proxy = createServer((client) => {
      const upstream = connect(Number(server.port), server.hostname);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(latePort, '127.0.0.1', resolve));
    try {
      const { applied } = await applying;
      expect(applied.length).toBeGreaterThan(0);
    } finally {
      proxy.close();
      await withAdminClient(inject('adminUrl'), (admin) =>
        admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      );
    }
  });

  it('clients creates a client and its key; the authorizer allows that key and denies another', async () => {
    const clients = await start('clients', await asRole('payments_client_admin'));
    const created = await clients.invoke<{ secret: string; clientId: string }>({
      command: 'create',
      clientId: 'client-bundle',
      usageKey: 'usage-key-bundle',
    });
    expect(created.clientId).toBe('client-bundle');
    const authorizer = await start('authorizer', await asRole('payments_authorizer'));
    const methodArn = 'arn:aws:execute-api:us-east-1:000000000000:smoke/v1/POST/charge';
    const request = (key: string) => ({
      type: 'REQUEST',
      methodArn,
      headers: { 'x-api-key': key },
      multiValueHeaders: { 'x-api-key': [key] },
    });
    const allowed = await authorizer.invoke<{
      context: { clientId: string };
      policyDocument: { Statement: { Effect: string }[] };
      usageIdentifierKey?: string;
    }>(request(created.secret));
    expect(allowed.context.clientId).toBe('client-bundle');
    expect(allowed.policyDocument.Statement[0]?.Effect).toBe('Allow');
    expect(allowed.usageIdentifierKey).toBe('usage-key-bundle');
    const denied = await authorizer.invoke<{ policyDocument: { Statement: { Effect: string }[] } }>(
      request(`${created.secret.slice(0, -2)}xx`),
    );
    expect(denied.policyDocument.Statement[0]?.Effect).toBe('Deny');
  });

  it('charge answers a proxy event: 201, the charge row and its outbox event', async () => {
    const charge = await start('charge');
    const key = randomUUID();
    const body = { amount: 1234, currency: 'EUR', customerId: 'cus_bundle' };
    const response = await charge.invoke<{ statusCode: number; body: string }>(
      postChargeEvent('client-bundle', key, body, { 'amz-sdk-request': 'attempt=1; max=3' }),
    );
    expect(response.statusCode).toBe(201);
    const created = JSON.parse(response.body);
    expect(created).toMatchObject({ amount: 1234, currency: 'EUR' });
    const { rows } = await db.query(
      `SELECT (SELECT count(*)::int FROM charges WHERE id = $1) AS charges,
              (SELECT count(*)::int FROM outbox WHERE payload->>'chargeId' = $1::text) AS events`,
      [created.id],
    );
    expect(rows[0]).toEqual({ charges: 1, events: 1 });
  });

  it('relay publishes the outbox event to SQS and marks it published', async () => {
    const relay = await start('relay', await asRole('payments_relay'));
    // The relay drains until 20 s before its timeout: a 23 s invocation drains for about 3 s.
    const run = await relay.invoke<{ published: number }>(
      { source: 'aws.events', 'detail-type': 'Scheduled Event' },
      23_000,
    );
    expect(run.published).toBe(1);
    const { rows } = await db.query(
      'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
    );
    expect(rows[0].n).toBe(0);
  });

  it('reconciliation finds the charge the ledger has not applied yet and marks it for re-sending', async () => {
    const reconciliation = await start('reconciliation', {
      ...(await asRole('payments_reconciliation')),
      RECONCILE_AFTER_SECONDS: '1',
    });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const result = await reconciliation.invoke<{ unapplied: number; requeuedEventIds: string[] }>(
      {},
    );
    expect(result.unapplied).toBe(1);
    expect(result.requeuedEventIds).toHaveLength(1);
  });

  it('consumer applies the event from SQS to the ledger, once', async () => {
    const consumer = await start('consumer', await asRole('payments_consumer'));
    const stop = await startSqsEventSource({
      sqs: sqsClientFor(endpoint.endpoint),
      queueUrl: env.QUEUE_URL ?? '',
      functionName: 'consumer',
      handler: (event: SQSEvent) => consumer.invoke<SQSBatchResponse>(event),
    });
    try {
      await waitFor('the ledger postings', async () => {
        const { rows } = await db.query('SELECT count(*)::int AS n FROM ledger.postings');
        return rows[0].n === 2;
      });
    } finally {
      await stop();
    }
    const { rows } = await db.query('SELECT count(*)::int AS n FROM ledger.inbox');
    expect(rows[0].n).toBe(1);
  });

  it('no function role can touch what its function does not need', async () => {
    const denied = async (role: string, statement: string) => {
      const client = new pg.Client((await asRole(role)).DATABASE_URL);
      await client.connect();
      try {
        await client.query(statement);
        return 'allowed';
      } catch (error) {
        return (error as { code?: string }).code;
      } finally {
        await client.end();
      }
    };
    const insufficientPrivilege = '42501';
    expect(await denied('payments_relay', 'SELECT count(*) FROM charges')).toBe(
      insufficientPrivilege,
    );
    expect(await denied('payments_consumer', 'SELECT count(*) FROM charges')).toBe(
      insufficientPrivilege,
    );
    expect(await denied('payments_get_charge', 'DELETE FROM ledger.inbox')).toBe(
      insufficientPrivilege,
    );
    expect(await denied('payments_housekeeping', 'SELECT count(*) FROM charges')).toBe(
      insufficientPrivilege,
    );
    expect(await denied('payments_reconciliation', 'DELETE FROM outbox')).toBe(
      insufficientPrivilege,
    );
    expect(await denied('payments_authorizer', 'SELECT count(*) FROM charges')).toBe(
      insufficientPrivilege,
    );
    expect(await denied('payments_authorizer', 'DELETE FROM api_keys')).toBe(insufficientPrivilege);
    expect(await denied('payments_client_admin', 'SELECT count(*) FROM charges')).toBe(
      insufficientPrivilege,
    );
    expect(await denied('payments_relay', 'CREATE TABLE sneaky (id int)')).toBe(
      insufficientPrivilege,
    );
  });

  it('get-charge and health answer, and housekeeping runs', async () => {
    const { rows } = await db.query<{ id: string }>('SELECT id FROM charges');
    const id = rows[0]?.id ?? '';
    const getCharge = await start('get-charge', await asRole('payments_get_charge'));
    const found = await getCharge.invoke<{ statusCode: number; body: string }>(
      proxyEvent({
        method: 'GET',
        resource: '/charges/{id}',
        path: `/charges/${id}`,
        clientId: 'client-bundle',
        pathParameters: { id },
      }),
    );
    expect(found.statusCode).toBe(200);
    expect(JSON.parse(found.body).ledger).toEqual({ applied: true, applications: 1 });

    const health = await start('health', await asRole('payments_get_charge'));
    const healthy = await health.invoke<{ statusCode: number }>(
      proxyEvent({ method: 'GET', resource: '/health', path: '/health', clientId: 'none' }),
    );
    expect(healthy.statusCode).toBe(200);

    const housekeeping = await start('housekeeping', await asRole('payments_housekeeping'));
    const purged = await housekeeping.invoke<Record<string, { drained: boolean }>>({}, 60_000);
    expect(Object.values(purged).map((table) => table.drained)).toEqual([true, true, true]);
  });

  it('started every bundle the stack deploys (a new function needs its smoke test here)', () => {
    expect([...invokedBundles].sort()).toEqual([...FUNCTION_NAMES].sort());
  });
});
