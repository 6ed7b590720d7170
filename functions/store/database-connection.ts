import type pg from 'pg';
import { awsClientOptions } from '../commons/aws-client-options.ts';
import { requiredEnv } from '../commons/config.ts';

interface DatabaseSecret {
  username: string;
  password: string;
  port?: number;
}

/** How long a fetched password is reused before Secrets Manager is asked again (rotation). */
const SECRET_CACHE_MS = 5 * 60_000;

/**
 * Where the handlers' database is.
 * - DATABASE_URL (local runs, tests): that URL.
 * - In AWS: DATABASE_HOST (the RDS Proxy endpoint; the secret's own `host` is the cluster),
 *   DATABASE_NAME and DATABASE_SECRET_ARN (the Aurora-generated secret), over TLS. The
 *   password is a function pg calls for every new connection, so after a rotation new
 *   connections pick up the new password within {@link SECRET_CACHE_MS}.
 */
export async function databaseConnectionFromEnvironment(): Promise<string | pg.PoolConfig> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const secretArn = requiredEnv('DATABASE_SECRET_ARN');
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
    host: requiredEnv('DATABASE_HOST'),
    database: requiredEnv('DATABASE_NAME'),
    port: secret.port ?? 5432,
    user: secret.username,
    password: async () => (await readSecret()).password,
    ssl: { rejectUnauthorized: true },
  };
}
