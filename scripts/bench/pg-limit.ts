import { randomUUID } from 'node:crypto';
import { PostgresPersistenceLayer } from '@effectively-once/powertools-idempotency-postgres';
import pg from 'pg';
import { chargeIdempotencyConfig } from '../../functions/charge/idempotency-config.ts';
import { chargeResource, fingerprintOf } from '../../functions/domain/charge.ts';
import { recordCharge } from '../../functions/store/charge-store.ts';

/**
 * The PostgreSQL ceiling for POST /charge: exactly the statements one new charge executes,
 * in the same order, each its own autocommit transaction as through the handler's pool,
 * over `connections` connections, with nothing else in the way (no HTTP, no middy, no
 * Lambda context). Every value is computed by the handler's own code: the fingerprint
 * (fingerprintOf: canonical JSON), the record id and payload hash (Powertools, configured by
 * the handler's chargeIdempotencyConfig), the claim and completion (the persistence layer)
 * and the charge (recordCharge).
 */

const TTL_SECONDS = 86_400;
/** What Powertools passes for the in-progress window: the invocation's remaining time. */
const REMAINING_MS = 9_990;

/** The persistence layer on one connection, hashing keys as the charge handler does. */
function idempotencyRecordsOn(client: pg.Client): PostgresPersistenceLayer {
  const records = new PostgresPersistenceLayer({ pool: client });
  records.configure({ config: chargeIdempotencyConfig(TTL_SECONDS), keyPrefix: 'bench.charge' });
  return records;
}

/** One charge's statements on `client`, with values shaped like the handler's. */
async function chargeOnce(
  client: pg.Client,
  records: PostgresPersistenceLayer,
  clientId: string,
): Promise<void> {
  const idempotencyKey = randomUUID();
  const customer = Math.floor(Math.random() * 200);
  const request = {
    amount: 100 + customer,
    currency: 'EUR' as const,
    customerId: `cus_${customer}`,
  };
  const command = { clientId, idempotencyKey, request, fingerprint: fingerprintOf(request) };
  // What the request parser attaches to the event, and all Powertools reads from it.
  const event = { charge: command };
  await records.saveInProgress(event, REMAINING_MS);
  const { charge, created } = await recordCharge(client, command);
  if (!created) throw new Error('charge not created on a fresh key');
  await records.saveSuccess(event, {
    statusCode: 201,
    headers: { 'Content-Type': 'application/json', Location: `/charges/${charge.id}` },
    body: JSON.stringify(chargeResource(charge)),
  });
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
      return { client, records: idempotencyRecordsOn(client) };
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
      clients.map(async ({ client, records }) => {
        while (performance.now() < end) {
          await chargeOnce(client, records, clientId);
          total++;
          const done = performance.now();
          if (done >= measureFrom && done <= end) charges++;
        }
      }),
    );
  } finally {
    await Promise.all(clients.map(({ client }) => client.end().catch(() => {})));
  }
  return { tps: charges / (options.durationMs / 1000), charges, total };
}
