import type { Queryable } from './database.ts';

/**
 * Takes lease `name` for `holder` for `ttlMs`, or renews it if `holder` has it. Succeeds
 * only if the lease is free, lapsed, or already the holder's; a takeover from another holder
 * increments the fencing token. One statement, so nothing is held between calls.
 * @returns the fencing token (as text: bigint), or undefined when another holder has it
 */
export async function tryAcquireLease(
  db: Queryable,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<string | undefined> {
  const result = await db.query<{ token: string }>(
    `INSERT INTO relay_lease (name, holder, token, expires_at)
     VALUES ($1, $2, 1, now() + $3::float8 * interval '1 millisecond')
     ON CONFLICT (name) DO UPDATE
        SET token = CASE WHEN relay_lease.holder = EXCLUDED.holder THEN relay_lease.token
                         ELSE relay_lease.token + 1 END,
            holder = EXCLUDED.holder,
            expires_at = EXCLUDED.expires_at
      WHERE relay_lease.holder = EXCLUDED.holder OR relay_lease.expires_at <= now()
     RETURNING token::text`,
    [name, holder, ttlMs],
  );
  return result.rows[0]?.token;
}

/** Gives the lease up now, if `holder` still has it with `token`, so a successor need not wait. */
export async function releaseLease(
  db: Queryable,
  name: string,
  holder: string,
  token: string,
): Promise<void> {
  await db.query(
    'UPDATE relay_lease SET expires_at = now() WHERE name = $1 AND holder = $2 AND token = $3::bigint',
    [name, holder, token],
  );
}

/**
 * Gives lease `name` to `holder` now, whoever has it, with a new fencing token: the previous
 * holder's next renewal fails and its marks are fenced out. For fault-injection harnesses
 * that need a particular relay (one armed to crash) to be the one publishing.
 */
export async function handOverLease(
  db: Queryable,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<void> {
  await db.query(
    `INSERT INTO relay_lease (name, holder, token, expires_at)
     VALUES ($1, $2, 1, now() + $3::float8 * interval '1 millisecond')
     ON CONFLICT (name) DO UPDATE
        SET holder = EXCLUDED.holder, token = relay_lease.token + 1, expires_at = EXCLUDED.expires_at`,
    [name, holder, ttlMs],
  );
}
