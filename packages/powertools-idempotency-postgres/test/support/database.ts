import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { inject } from 'vitest';

export interface PackageTestDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export const MIGRATION_FILE = new URL('../../migrations/idempotency_records.sql', import.meta.url);

/**
 * A new database on the test server with only the package's own migration applied (unless
 * `migrate: false`), as a user of the package would have it: nothing of the payments service.
 */
export async function createPackageTestDatabase(
  options: { migrate?: boolean } = {},
): Promise<PackageTestDatabase> {
  const adminUrl = inject('adminUrl');
  const name = `idempotency_pkg_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 5 });
  // A test dropping its database terminates the pool's idle connections: not an error here.
  pool.on('error', () => {});
  if (options.migrate ?? true) await pool.query(await readFile(MIGRATION_FILE, 'utf8'));
  return {
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      await withClient(adminUrl, (admin) =>
        admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      );
    },
  };
}

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>) {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
