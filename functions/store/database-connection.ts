import { awsClientOptions } from '../commons/aws-client-options.ts';
import { requiredEnv } from '../commons/config.ts';
import type { DatabaseConnection } from './database.ts';

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
export async function databaseConnectionFromEnvironment(): Promise<DatabaseConnection> {
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
    // The username is fixed per role; single-user rotation changes only the password.
    user: secret.username,
    password: async () => (await readSecret()).password,
    ssl: tlsOption(),
    credentialsRejected: () => {
      cached = undefined;
    },
  };
}

/**
 * Verified TLS, always, in AWS (the stacks never set DATABASE_TLS; a template test pins it).
 * `DATABASE_TLS=off` exists for one case: a bundle run against a local PostgreSQL without a
 * certificate, as the rotation test does.
 */
function tlsOption(): { rejectUnauthorized: true } | false {
  const mode = process.env.DATABASE_TLS ?? 'verify';
  if (mode === 'verify') return { rejectUnauthorized: true };
  if (mode === 'off') return false;
  throw new Error(`environment variable DATABASE_TLS must be verify or off, got "${mode}"`);
}
