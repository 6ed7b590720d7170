import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AWS_ENV } from '../../scripts/local/sqs.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { type BundleProcess, startBundle } from './bundles/bundle-process.ts';
import { synthesizeIsolatedBundles } from './bundles/lambda-bundles.ts';
import { postChargeEvent } from './bundles/proxy-events.ts';

const ROLE = 'payments_charge';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:payments-charge-role';

/**
 * A Secrets Manager endpoint holding one secret, speaking the JSON protocol the SDK uses for
 * GetSecretValue. The test changes the secret as a rotation would.
 */
async function startSecretsEndpoint(secret: { username: string; password: string; port: number }) {
  let reads = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const { SecretId } = JSON.parse(body || '{}') as { SecretId?: string };
      res.setHeader('Content-Type', 'application/x-amz-json-1.1');
      if (target !== 'secretsmanager.GetSecretValue' || SecretId !== SECRET_ARN) {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'no such secret' }));
        return;
      }
      reads += 1;
      res.end(
        JSON.stringify({
          ARN: SECRET_ARN,
          Name: 'payments-charge-role',
          VersionId: randomUUID(),
          VersionStages: ['AWSCURRENT'],
          SecretString: JSON.stringify(secret),
          CreatedDate: Date.now() / 1000,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    reads: () => reads,
    rotate: (password: string) => {
      secret.password = password;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Issue 16, item 2: the charge bundle, as deployed, connecting as its own role with the
 * password from its secret, against a PostgreSQL whose password is rotated mid-run. Before
 * the fix, connections opened after the rotation used the cached password and every request
 * needing one failed with 500 until the cache expired (up to 5 minutes).
 */
describe('the charge bundle through a password rotation', () => {
  let db: TestDatabase;
  let secrets: Awaited<ReturnType<typeof startSecretsEndpoint>>;
  let charge: BundleProcess;
  const password = () => randomBytes(12).toString('hex');

  beforeAll(async () => {
    const [{ charge: chargeBundle }, database] = await Promise.all([
      Promise.resolve(synthesizeIsolatedBundles(['charge'])),
      createTestDatabase(),
    ]);
    db = database;
    const url = new URL(db.url);
    const initial = password();
    await db.pool.query(`ALTER ROLE ${ROLE} PASSWORD '${initial}'`);
    secrets = await startSecretsEndpoint({
      username: ROLE,
      password: initial,
      port: Number(url.port),
    });
    charge = await startBundle(chargeBundle, 'charge', {
      ...LOCAL_AWS_ENV,
      AWS_ENDPOINT_URL: secrets.url,
      DATABASE_SECRET_ARN: SECRET_ARN,
      DATABASE_HOST: url.hostname,
      DATABASE_NAME: url.pathname.slice(1),
      // The local server has no certificate; in AWS the stacks never set this (template test).
      DATABASE_TLS: 'off',
      DB_POOL_MAX: '2',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
  }, 600_000);

  afterAll(async () => {
    await charge?.stop();
    await secrets?.close();
    await db?.drop();
  });

  const charges = async (count: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      const response = await charge.invoke<{ statusCode: number }>(
        postChargeEvent('client-rotation', randomUUID(), {
          amount: 100 + i,
          currency: 'EUR',
          customerId: 'cus_rotation',
        }),
      );
      statuses.push(response.statusCode);
    }
    return statuses;
  };

  /** What RDS Proxy's idle timeout or a failover does: the role's open sessions are gone. */
  const dropOpenConnections = () =>
    db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()`,
      [ROLE],
    );

  it('connects as its least-privilege role, not as the owner', async () => {
    expect(await charges(3)).toEqual([201, 201, 201]);
    const { rows } = await db.pool.query(
      'SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database() AND usename <> current_user',
    );
    expect(rows.map((row) => row.usename)).toEqual([ROLE]);
  });

  it('answers every request after the password changes, re-reading the secret once', async () => {
    const readsBefore = secrets.reads();
    const rotated = password();
    // The rotation: the database first, then the secret (Secrets Manager's setSecret, then
    // finishSecret). Open connections stay authenticated.
    await db.pool.query(`ALTER ROLE ${ROLE} PASSWORD '${rotated}'`);
    secrets.rotate(rotated);
    expect(await charges(5)).toEqual(Array(5).fill(201));

    // New connections must now authenticate, with a password the function has cached.
    await dropOpenConnections();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await charges(20);
    expect(after).toEqual(Array(20).fill(201));
    expect(secrets.reads()).toBe(readsBefore + 1);

    // And again, for a second rotation in the same environment.
    const again = password();
    await db.pool.query(`ALTER ROLE ${ROLE} PASSWORD '${again}'`);
    secrets.rotate(again);
    await dropOpenConnections();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await charges(10)).toEqual(Array(10).fill(201));
    expect(secrets.reads()).toBe(readsBefore + 2);
  });
});
