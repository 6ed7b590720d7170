import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type pg from 'pg';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/**
 * Applies every pending migration to the database at `database` (a URL or pg client config).
 * node-pg-migrate takes an advisory lock, so concurrent callers (several local processes,
 * a deploy-time trigger racing a developer) apply each migration exactly once.
 * @returns the names of the migrations applied by this call
 */
export async function migrateToLatest(
  database: string | pg.ClientConfig,
  options: { migrationsDir?: string; log?: (message: string) => void } = {},
): Promise<string[]> {
  const applied = await runner({
    databaseUrl: database,
    dir: options.migrationsDir ?? MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'schema_migrations',
    useGlob: false,
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    log: options.log ?? (() => {}),
  });
  return applied.map((migration) => migration.name);
}
