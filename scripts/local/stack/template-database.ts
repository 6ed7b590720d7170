import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { migrateToLatest } from '../../../functions/migrate/run-migrations.ts';
import { createPool } from '../../../functions/store/database.ts';
import { databaseUrlOn, withAdminClient } from '../embedded-postgres.ts';

/**
 * (Re)creates database `name` on the server `adminUrl` points at and migrates it, once, so
 * that every test file or benchmark phase can copy it (CREATE DATABASE … TEMPLATE) in
 * milliseconds instead of running the migrations again.
 */
export async function buildTemplateDatabase(adminUrl: string, name: string): Promise<string> {
  await withAdminClient(adminUrl, async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  });
  const url = databaseUrlOn(adminUrl, name);
  await migrateToLatest(url);
  return url;
}

export interface CopiedDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  /** Ends the pool and drops the database (connections still open are terminated). */
  drop(): Promise<void>;
}

/** A fresh database `prefix_<random>` copied from `template`, and a pool on it. */
export async function copyTemplateDatabase(
  adminUrl: string,
  template: string,
  options: { prefix: string; poolMax?: number },
): Promise<CopiedDatabase> {
  const name = `${options.prefix}_${randomBytes(6).toString('hex')}`;
  await withAdminClient(adminUrl, (admin) =>
    admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`),
  );
  const url = databaseUrlOn(adminUrl, name);
  const pool = createPool(url, { max: options.poolMax ?? 4 });
  let dropped: Promise<void> | undefined;
  return {
    name,
    url,
    pool,
    drop: () => {
      dropped ??= (async () => {
        await pool.end();
        await withAdminClient(adminUrl, (admin) =>
          admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
        );
      })();
      return dropped;
    },
  };
}
