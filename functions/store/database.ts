import pg from 'pg';

/** Anything that runs a parameterised query: a Pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

/**
 * A database URL, or a pg configuration whose credentials may be refreshed: when the server
 * rejects them (SQLSTATE 28P01, after a rotation) the pool calls `credentialsRejected` and
 * retries that connection once.
 */
export type DatabaseConnection = string | (pg.PoolConfig & { credentialsRejected?: () => void });

/** invalid_password: what PostgreSQL (and RDS Proxy) answer to a rotated-away password. */
const INVALID_PASSWORD = '28P01';

/**
 * A pg Pool that re-reads credentials once when a new connection is refused with 28P01.
 * Hand-written because pg has no hook for failed authentication; it overrides only the
 * public `connect`, which `query` also goes through.
 */
class CredentialRefreshingPool extends pg.Pool {
  readonly #credentialsRejected: () => void;

  constructor(config: pg.PoolConfig, credentialsRejected: () => void) {
    super(config);
    this.#credentialsRejected = credentialsRejected;
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg's overloads (promise and callback forms)
  override connect(callback?: any): any {
    const connected = super.connect().catch((error: { code?: string }) => {
      if (error?.code !== INVALID_PASSWORD) throw error;
      this.#credentialsRejected();
      return super.connect();
    });
    if (!callback) return connected;
    connected.then(
      (client) =>
        callback(undefined, client, (release?: Error | boolean) => client.release(release)),
      (error) => callback(error, undefined, () => {}),
    );
    return undefined;
  }
}

/**
 * A connection pool for one Lambda execution environment (or one local process).
 * Small by default: in AWS every environment has its own pool, and RDS Proxy multiplexes
 * them; a large pool per environment would exhaust the database under a burst of cold starts.
 */
export function createPool(
  connection: DatabaseConnection,
  options: {
    max?: number;
    /** Server-side limit on one statement (statement_timeout); unset: none. */
    statementTimeoutMs?: number | undefined;
    /** Client-side limit on one query (query_timeout); unset: none. */
    queryTimeoutMs?: number | undefined;
  } = {},
): pg.Pool {
  const { credentialsRejected, ...config } =
    typeof connection === 'string'
      ? { connectionString: connection, credentialsRejected: undefined }
      : connection;
  const poolConfig: pg.PoolConfig = {
    ...config,
    max: options.max ?? 2,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    // Server-side and client-side limits on one statement, below the function's timeout, so a
    // stuck query fails the invocation with an error instead of running into the Lambda
    // timeout. The stacks set both for every function from its timeout; unset (local runs,
    // tests) means no limit.
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    application_name: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'payments',
  };
  const pool = credentialsRejected
    ? new CredentialRefreshingPool(poolConfig, credentialsRejected)
    : new pg.Pool(poolConfig);
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
