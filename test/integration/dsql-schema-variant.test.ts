import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateToLatest } from '../../functions/migrate/run-migrations.ts';
import { OUTBOX_RELAY_LEASE } from '../../functions/relay/relay-settings.ts';
import { createPool } from '../../functions/store/database.ts';
import { markPublished, pendingEvents } from '../../functions/store/outbox-store.ts';
import { tryAcquireLease } from '../../functions/store/relay-lease-store.ts';
import { applyLedgerEntry } from '../../schema/dsql/ledger-entry-store.ts';
import { EXPERIMENT_API_KEY, type Region, startRegion } from '../../scripts/experiment/region.ts';
import { databaseUrlOn, withAdminClient } from '../../scripts/local/embedded-postgres.ts';

const MIGRATIONS = fileURLToPath(new URL('../../schema/dsql/migrations', import.meta.url));

/**
 * What Aurora DSQL documents as unsupported, as it would appear in DDL. Checked textually:
 * DSQL itself cannot run here, so this pins the schema's shape, not DSQL's behaviour.
 */
const UNSUPPORTED_ON_DSQL: Array<[string, RegExp]> = [
  ['triggers', /\bCREATE\s+(CONSTRAINT\s+)?TRIGGER\b/i],
  [
    'functions in other languages than SQL (PL/pgSQL)',
    /\bLANGUAGE\s+plpgsql\b|\bCREATE\s+FUNCTION\b/i,
  ],
  ['sequences and identity columns', /\bSEQUENCE\b|\bIDENTITY\b|\bSERIAL\b/i],
  ['jsonb as a stored column type', /^\s+\w+\s+jsonb\b/im],
  ['partitions', /\bPARTITION\s+BY\b/i],
  ['partial indexes', /\bCREATE\s+INDEX\b[^;]*\bWHERE\b/i],
  ['TRUNCATE', /\bTRUNCATE\b/i],
  ['temporary tables', /\bCREATE\s+TEMP(ORARY)?\s+TABLE\b/i],
];

let adminUrl: string;
let database: string;
let pool: pg.Pool;
let region: Region;

beforeAll(async () => {
  adminUrl = inject('adminUrl');
  database = `dsql_variant_${randomBytes(6).toString('hex')}`;
  await withAdminClient(adminUrl, (admin) => admin.query(`CREATE DATABASE ${database}`));
  const url = databaseUrlOn(adminUrl, database);
  await migrateToLatest(url, { migrationsDir: MIGRATIONS });
  pool = createPool(url, { max: 4 });
  region = await startRegion({
    name: 'dsql-variant',
    databaseUrl: url,
    inProgressWindowSeconds: 5,
    relayIntervalMs: 0,
    poolSize: 4,
  });
});

afterAll(async () => {
  await region?.close();
  await pool?.end();
  await withAdminClient(adminUrl, (admin) =>
    admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`),
  );
});

async function postCharge(key: string): Promise<Response> {
  return fetch(`${region.baseUrl}/charge`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'idempotency-key': key,
      'x-api-key': EXPERIMENT_API_KEY,
    },
    body: JSON.stringify({ amount: 1250, currency: 'EUR', customerId: 'cus_dsql' }),
  });
}

describe('the DSQL-shaped schema variant (schema/dsql), on PostgreSQL', () => {
  it('uses none of the constructs Aurora DSQL documents as unsupported', async () => {
    for (const file of await readdir(MIGRATIONS)) {
      const up =
        (await readFile(`${MIGRATIONS}/${file}`, 'utf8')).split('-- Down Migration')[0] ?? '';
      const ddl = up.replace(/--.*$/gm, '');
      for (const [what, pattern] of UNSUPPORTED_ON_DSQL) {
        expect(ddl, `${file} uses ${what}`).not.toMatch(pattern);
      }
    }
  });

  it('serves the real charge handler: a charge, then its replay, one row and one outbox event', async () => {
    const key = randomUUID();
    const first = await postCharge(key);
    expect(first.status).toBe(201);
    const charge = (await first.json()) as { id: string };
    const replay = await postCharge(key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replay.json()) as { id: string }).id).toBe(charge.id);

    const { rows } = await pool.query(
      `SELECT (SELECT count(*) FROM charges WHERE idempotency_key = $1)::int AS charges,
              (SELECT count(*) FROM outbox WHERE payload->>'chargeId' = $2)::int AS events`,
      [key, charge.id],
    );
    expect(rows[0]).toEqual({ charges: 1, events: 1 });
  });

  it('lets the relay take its lease, read and mark outbox rows stored as json', async () => {
    await postCharge(randomUUID());
    const token = await tryAcquireLease(pool, OUTBOX_RELAY_LEASE, 'dsql-variant-relay', 5_000);
    expect(token).toBeDefined();
    const events = await pendingEvents(pool, 100);
    const published = events.map((event) => String(event.payload.chargeId));
    expect(published.length).toBeGreaterThan(0);
    expect(published.every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);
    expect(events.every((event) => event.republishCount === 0)).toBe(true);
    const mark = await markPublished(
      pool,
      events.map((event) => event.eventId),
      { leaseName: OUTBOX_RELAY_LEASE, fencingToken: String(token) },
      { busToo: true },
    );
    expect(mark).toEqual({ fenced: false, marked: events.length });
  });

  it('applies a charge event once as one balanced double entry, a redelivery changes nothing', async () => {
    const message = {
      eventId: randomUUID(),
      type: 'charge.created' as const,
      occurredAt: new Date().toISOString(),
      data: {
        chargeId: randomUUID(),
        clientId: 'client_1',
        customerId: 'cus_1',
        amount: 4200,
        currency: 'EUR' as const,
      },
    };
    expect(await applyLedgerEntry(pool, message)).toBe('applied');
    expect(await applyLedgerEntry(pool, message)).toBe('duplicate');
    const { rows } = await pool.query(
      `SELECT direction, amount::int AS amount FROM ledger.postings WHERE charge_id = $1 ORDER BY direction`,
      [message.data.chargeId],
    );
    expect(rows).toEqual([
      { direction: 'credit', amount: 4200 },
      { direction: 'debit', amount: 4200 },
    ]);
  });

  it('cannot store an entry that would unbalance the ledger', async () => {
    const insert = (debit: string, credit: string, amount: number) =>
      pool.query(
        `INSERT INTO ledger.entries (event_id, charge_id, debit_account, credit_account, amount, currency)
         VALUES ($1, $2, $3, $4, $5, 'EUR')`,
        [randomUUID(), randomUUID(), debit, credit, amount],
      );
    await expect(insert('customer:a', 'merchant:b', 0)).rejects.toThrow(/check constraint/);
    await expect(insert('customer:a', 'merchant:b', -5)).rejects.toThrow(/check constraint/);
    await expect(insert('customer:a', 'customer:a', 5)).rejects.toThrow(/check constraint/);
  });
});
