/**
 * Bytes a charge keeps in PostgreSQL, for the 30-day retention sizing in docs/GLOBAL.md:
 * `node scripts/experiment/record-size.ts [charges]` makes that many charges through the real
 * handler (default 2000) and prints each table's size per row, indexes and TOAST included.
 */
import { createPool } from '../../functions/store/database.ts';
import {
  copyDataDir,
  createDataTemplate,
  removeDataDir,
  startPostgresServer,
} from './postgres-servers.ts';
import { EXPERIMENT_API_KEY, startRegion } from './region.ts';

const charges = Number(process.argv[2] ?? 2000);
if (!Number.isInteger(charges) || charges < 1) {
  console.error('usage: node scripts/experiment/record-size.ts [charges: a positive integer]');
  process.exit(2);
}
const template = await createDataTemplate();
const dataDir = await copyDataDir(template, 'size');
const server = await startPostgresServer(dataDir);
const region = await startRegion({
  name: 'size',
  databaseUrl: server.url,
  inProgressWindowSeconds: 5,
  relayIntervalMs: 0,
  poolSize: 8,
});
const db = createPool(server.url, { max: 1 });
try {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < charges) {
        const n = next++;
        const response = await fetch(`${region.baseUrl}/charge`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': `size-${n}-${crypto.randomUUID()}`,
            'x-api-key': EXPERIMENT_API_KEY,
          },
          body: JSON.stringify({
            amount: 1000 + n,
            currency: 'EUR',
            customerId: `customer_${n % 500}`,
            description: 'Order 12345',
          }),
        });
        if (response.status !== 201) throw new Error(`charge ${n}: ${response.status}`);
        await response.arrayBuffer();
      }
    }),
  );
  await db.query('VACUUM ANALYZE');
  for (const table of ['idempotency_records', 'charges', 'outbox']) {
    const { rows } = await db.query<{ rows: number; total: string; heap: string }>(
      `SELECT count(*)::int AS rows, pg_total_relation_size($1::regclass)::text AS total,
              pg_relation_size($1::regclass)::text AS heap FROM ${table}`,
      [table],
    );
    const row = rows[0];
    if (!row) continue;
    console.log(
      `${table}: ${row.rows} rows, ${Math.round(Number(row.total) / row.rows)} bytes/row with indexes ` +
        `(${Math.round(Number(row.heap) / row.rows)} heap)`,
    );
  }
} finally {
  await db.end();
  await region.close();
  await server.stop();
  await removeDataDir(dataDir);
  await template.remove();
}
