import pg from 'pg';

/** Anything that runs a parameterised query: a Pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

/**
 * A connection pool for one Lambda execution environment (or one local process).
 * Small by default: in AWS every environment has its own pool, and RDS Proxy multiplexes
 * them; a large pool per environment would exhaust the database under a burst of cold starts.
 */
export function createPool(
  connection: string | pg.PoolConfig,
  options: { max?: number } = {},
): pg.Pool {
  const pool = new pg.Pool({
    ...(typeof connection === 'string' ? { connectionString: connection } : connection),
    max: options.max ?? 2,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    application_name: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'payments',
  });
  // A connection the server terminates (failover, restart, a dropped database) must not crash
  // the process: idle clients report through the pool, and a client that is already being
  // closed reports on itself. The next query reconnects; a query in flight still rejects.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * Opens `connections` pool connections now, during the function's init phase, so the first
 * invocations do not each pay for a TCP connection and SCRAM authentication.
 */
export async function openConnections(pool: pg.Pool, connections: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
  for (const client of clients) client.release();
}
