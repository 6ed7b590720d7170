/** `npm run migrate`: applies pending migrations to DATABASE_URL. */
import { migrateToLatest } from '../functions/migrate/run-migrations.ts';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error(
    'migrate: set DATABASE_URL (for example postgres://postgres@127.0.0.1:5432/payments)',
  );
  process.exit(2);
}
try {
  const applied = await migrateToLatest(databaseUrl);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
} catch (error) {
  console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
