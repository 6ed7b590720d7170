import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { inject } from 'vitest';
import { createPool } from '../../functions/store/database.ts';
import { withAdminClient } from '../../scripts/local/embedded-postgres.ts';

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

const TEMPLATE_DATABASE = 'payments_test_template';

/** A freshly migrated database of its own (a copy of the template), and a pool on it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const name = `payments_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient(adminUrl, (admin) =>
    admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`),
  );
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), { max: 5 });
  return {
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      await withAdminClient(adminUrl, (admin) =>
        admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      );
    },
  };
}
