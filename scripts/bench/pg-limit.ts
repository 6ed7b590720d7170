import { createHash, randomUUID } from 'node:crypto';
import { idempotencyStatements } from '@effectively-once/powertools-idempotency-postgres';
import pg from 'pg';
import { chargeResource } from '../../functions/domain/charge.ts';
import { recordCharge } from '../../functions/store/charge-store.ts';

/**
 * The PostgreSQL ceiling for POST /charge: exactly the statements one new charge executes,
 * in the same order, each its own autocommit transaction as through the handler's pool,
 * over `connections` connections, with nothing else in the way (no HTTP, no middy, no
 * Powertools). The charge statement is the handler's own function (recordCharge); the
 * claim and completion statements are the persistence layer's own (idempotencyStatements).
 */

const { claim: CLAIM_SQL, complete: COMPLETE_SQL } = idempotencyStatements('idempotency_records');

const TTL_SECONDS = 86_400;
/** What Powertools passes for the in-progress window: the invocation's remaining time. */
const IN_PROGRESS_SECONDS = 9.99;

/** One charge's statements on `client`, with values shaped like the handler's. */
async function chargeOnce(client: pg.Client, clientId: string): Promise<void> {
  const idempotencyKey = randomUUID();
  const customer = Math.floor(Math.random() * 200);
  const request = {
    amount: 100 + customer,
    currency: 'EUR' as const,
    customerId: `cus_${customer}`,
  };
  // Powertools' record id: prefix + base64 SHA-256 of the JMESPath-selected [client, key].
  const recordId = `bench.charge#${createHash('sha256')
    .update(JSON.stringify([clientId, idempotencyKey]))
    .digest('base64')}`;
  const fingerprint = createHash('sha256').update(JSON.stringify(request)).digest('base64url');
  const payloadHash = createHash('sha256').update(JSON.stringify(fingerprint)).digest('base64');
  const token = randomUUID();

  const claimed = await client.query(CLAIM_SQL, [
    recordId,
    TTL_SECONDS,
    IN_PROGRESS_SECONDS,
    payloadHash,
    token,
  ]);
  if (claimed.rowCount !== 1) throw new Error('claim failed on a fresh key');
  const { charge, created } = await recordCharge(client, {
    clientId,
    idempotencyKey,
    request,
    fingerprint,
  });
  if (!created) throw new Error('charge not created on a fresh key');
  const response = {
    statusCode: 201,
    headers: { 'Content-Type': 'application/json', Location: `/charges/${charge.id}` },
    body: JSON.stringify(chargeResource(charge)),
  };
  const completed = await client.query(COMPLETE_SQL, [
    recordId,
    JSON.stringify(response),
    payloadHash,
    TTL_SECONDS,
    token,
  ]);
  if (completed.rowCount !== 1) throw new Error('completion matched no record');
}

export interface PgLimitResult {
  tps: number;
  /** Charges inside the measurement window. */
  charges: number;
  /** Charges in all, warm-up included. */
  total: number;
}

/**
 * Runs the three statements per charge on `connections` connections for
 * `warmupMs + durationMs`; counts charges finished inside the last `durationMs`.
 */
export async function measurePgLimit(options: {
  databaseUrl: string;
  connections: number;
  warmupMs: number;
  durationMs: number;
  clientId?: string;
}): Promise<PgLimitResult> {
  const clients = await Promise.all(
    Array.from({ length: options.connections }, async () => {
      const client = new pg.Client({
        connectionString: options.databaseUrl,
        application_name: 'bench-pg-limit',
      });
      await client.connect();
      return client;
    }),
  );
  const clientId = options.clientId ?? 'bench-pg-limit';
  let charges = 0;
  let total = 0;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  try {
    await Promise.all(
      clients.map(async (client) => {
        while (performance.now() < end) {
          await chargeOnce(client, clientId);
          total++;
          const done = performance.now();
          if (done >= measureFrom && done <= end) charges++;
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((client) => client.end().catch(() => {})));
  }
  return { tps: charges / (options.durationMs / 1000), charges, total };
}
