import type { Queryable } from './database.ts';

/** Which database, and which life of it, the Redis idempotency tier may answer for. */
export interface CacheNamespace {
  /** Created by migration 0004: a new database has a new one. */
  databaseId: string;
  /** Bumped by the restore procedure: a restored database starts a new epoch. */
  epoch: number;
}

/** The namespace this database's Redis keys live under (one row, created by migration 0004). */
export async function readCacheNamespace(db: Queryable): Promise<CacheNamespace> {
  const { rows } = await db.query<{ database_id: string; epoch: number }>(
    'SELECT database_id, epoch FROM idempotency_cache_namespace',
  );
  const row = rows[0];
  if (!row) throw new Error('idempotency_cache_namespace is empty: run the migrations');
  return { databaseId: row.database_id, epoch: row.epoch };
}

/** Starts a new epoch: every record Redis holds for this database is ignored from now on. */
export async function bumpCacheEpoch(db: Queryable): Promise<CacheNamespace> {
  const { rows } = await db.query<{ database_id: string; epoch: number }>(
    `UPDATE idempotency_cache_namespace SET epoch = epoch + 1, bumped_at = now()
     RETURNING database_id, epoch`,
  );
  const row = rows[0];
  if (!row) throw new Error('idempotency_cache_namespace is empty: run the migrations');
  return { databaseId: row.database_id, epoch: row.epoch };
}
