import type pg from 'pg';
import { awsClientOptions } from '../commons/aws-client-options.ts';
import type { DatabaseSettings } from '../commons/settings.ts';
import { createPool, type DatabaseConnection } from './database.ts';

interface DatabaseSecret {
  username: string;
  password: string;
  port?: number;
}

/** How long a fetched password is reused before Secrets Manager is asked again. */
const SECRET_CACHE_MS = 5 * 60_000;

/**
 * Where the handlers' database is.
 * - DATABASE_URL (local runs, tests, the LocalStack profile): that URL.
 * - In AWS: DATABASE_HOST (the RDS Proxy endpoint, or the cluster in the sandbox profile),
 *   DATABASE_NAME and DATABASE_SECRET_ARN (the secret of this function's own database role),
 *   over verified TLS.
 *
 * Rotation: the password is a function pg calls for every new connection. It is cached for
 * {@link SECRET_CACHE_MS}, and {@link DatabaseConnection.credentialsRejected} drops the cache
 * when the server answers 28P01 (invalid_password), so the pool re-reads the secret and
 * retries that connection once (see createPool). We chose this over IAM authentication to
 * RDS Proxy because it works the same against any PostgreSQL (the sandbox profile has no
 * proxy, and the tests run it against a real server whose password changes mid-run), while
 * IAM auth to the proxy cannot be exercised anywhere but AWS. Connections already open keep
 * working through a rotation; only new ones authenticate, and they retry once.
 */
export async function databaseConnection(settings: DatabaseSettings): Promise<DatabaseConnection> {
  if (settings.DATABASE_URL) return settings.DATABASE_URL;
  const { DATABASE_SECRET_ARN: secretArn, DATABASE_HOST: host, DATABASE_NAME: database } = settings;
  // The settings' own rule makes these present when DATABASE_URL is not; checked for the types.
  if (!secretArn || !host || !database) throw new Error('database settings are incomplete');
  // Loaded only here: the SDK client costs tens of milliseconds of init where DATABASE_URL is used.
  const { GetSecretValueCommand, SecretsManagerClient } = await import(
    '@aws-sdk/client-secrets-manager'
  );
  const secrets = new SecretsManagerClient(awsClientOptions());
  let cached: { secret: DatabaseSecret; fetchedAt: number } | undefined;
  const readSecret = async (): Promise<DatabaseSecret> => {
    if (!cached || Date.now() - cached.fetchedAt > SECRET_CACHE_MS) {
      const response = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
      cached = {
        secret: JSON.parse(response.SecretString ?? '{}') as DatabaseSecret,
        fetchedAt: Date.now(),
      };
    }
    return cached.secret;
  };
  const secret = await readSecret();
  return {
    host,
    database,
    port: secret.port ?? 5432,
    // The username is fixed per role; single-user rotation changes only the password.
    user: secret.username,
    password: async () => (await readSecret()).password,
    ssl: settings.DATABASE_TLS === 'verify' ? { rejectUnauthorized: true } : false,
    credentialsRejected: () => {
      cached = undefined;
    },
  };
}

/**
 * A function's pool, as its settings describe it: the connection, DB_POOL_MAX connections,
 * and the statement limits the stacks derive from the function's timeout.
 */
export async function functionPool(
  settings: DatabaseSettings & { DB_POOL_MAX: number },
): Promise<pg.Pool> {
  return createPool(await databaseConnection(settings), {
    max: settings.DB_POOL_MAX,
    statementTimeoutMs: settings.DB_STATEMENT_TIMEOUT_MS,
    queryTimeoutMs: settings.DB_QUERY_TIMEOUT_MS,
  });
}
