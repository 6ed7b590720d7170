/**
 * `npm run cache-epoch -- show|bump`: the namespace of the Redis idempotency tier in the
 * database at DATABASE_URL (or --database-url). `bump` is a step of the restore procedure
 * (docs/RUNBOOK.md, "After a database restore"): records Redis holds from before the restore
 * are then ignored and PostgreSQL decides.
 */
import { parseArgs } from 'node:util';
import { cacheKeyPrefix } from '../functions/charge/namespaced-cache.ts';
import { createPool } from '../functions/store/database.ts';
import {
  bumpCacheEpoch,
  readCacheNamespace,
} from '../functions/store/idempotency-cache-namespace.ts';

const USAGE = 'usage: npm run cache-epoch -- show|bump [--database-url URL]';
let parsed: ReturnType<typeof parseArgs>;
try {
  parsed = parseArgs({ allowPositionals: true, options: { 'database-url': { type: 'string' } } });
} catch (error) {
  console.error(`cache-epoch: ${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
const [command] = parsed.positionals;
const databaseUrl =
  (parsed.values['database-url'] as string | undefined) ?? process.env.DATABASE_URL;
if ((command !== 'show' && command !== 'bump') || !databaseUrl) {
  console.error(`cache-epoch: ${databaseUrl ? 'unknown command' : 'set DATABASE_URL'}\n${USAGE}`);
  process.exit(2);
}
const db = createPool(databaseUrl, { max: 1 });
try {
  const namespace = command === 'bump' ? await bumpCacheEpoch(db) : await readCacheNamespace(db);
  console.log(
    `database ${namespace.databaseId}, epoch ${namespace.epoch}: Redis keys ${cacheKeyPrefix(namespace)}*`,
  );
} catch (error) {
  console.error(`cache-epoch: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await db.end();
}
