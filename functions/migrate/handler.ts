import { logger } from '../commons/powertools.ts';
import type { DatabaseConnection } from '../store/database.ts';
import { databaseConnectionFromEnvironment } from '../store/database-connection.ts';
import { retryUntilReachable } from './retry-until-reachable.ts';
import { type ReadSecret, setRolePasswords } from './role-passwords.ts';
import { migrateToLatest } from './run-migrations.ts';

/**
 * Applies pending migrations during `cdk deploy` (a CDK Trigger invokes it after the database
 * and its proxy exist, before any function that needs the schema is created or updated), then
 * gives each function role the password in its secret (DATABASE_ROLE_SECRETS: a JSON object
 * of role name to secret ARN). A failure fails the deploy. The SQL files are copied next to
 * the bundle, so they ship with the code. This is the only function that connects as the
 * owner.
 *
 * On a first deploy the proxy can take minutes to accept connections after CloudFormation
 * reports it created, so both steps retry with backoff while the database is unreachable.
 */
export async function handler(
  _event: unknown,
  context?: { getRemainingTimeInMillis(): number },
): Promise<{ applied: string[]; rolesUpdated: string[] }> {
  const connection = await databaseConnectionFromEnvironment();
  const deadline = Date.now() + (context?.getRemainingTimeInMillis() ?? 240_000) - 10_000;
  const retry = <T>(what: string, work: () => Promise<T>) =>
    retryUntilReachable(work, {
      deadline,
      onRetry: (error, delayMs) =>
        logger.warn(`${what}: database not reachable yet, retrying`, {
          error: (error as Error).message,
          delayMs,
        }),
    });
  const applied = await retry('migrate', () =>
    migrateToLatest(connection, { log: (message) => logger.info(message) }),
  );
  logger.info('migrations applied', { applied });
  const roleSecrets = roleSecretArns();
  const rolesUpdated =
    Object.keys(roleSecrets).length === 0
      ? []
      : await retry('role passwords', async () =>
          setRolePasswords(clientConfig(connection), roleSecrets, await secretReader(), (m) =>
            logger.info(m),
          ),
        );
  logger.info('role passwords set', { rolesUpdated });
  return { applied, rolesUpdated };
}

function clientConfig(connection: DatabaseConnection) {
  if (typeof connection === 'string') return connection;
  const { credentialsRejected: _, ...config } = connection;
  return config;
}

function roleSecretArns(): Record<string, string> {
  const raw = process.env.DATABASE_ROLE_SECRETS;
  if (!raw) return {};
  const parsed: unknown = JSON.parse(raw);
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !Object.values(parsed).every((value) => typeof value === 'string')
  ) {
    throw new Error('DATABASE_ROLE_SECRETS must be a JSON object of role name to secret ARN');
  }
  return parsed as Record<string, string>;
}

async function secretReader(): Promise<ReadSecret> {
  const { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } = await import(
    '@aws-sdk/client-secrets-manager'
  );
  const secrets = new SecretsManagerClient({});
  return async (secretArn, stage) => {
    try {
      const response = await secrets.send(
        new GetSecretValueCommand({ SecretId: secretArn, VersionStage: stage }),
      );
      return JSON.parse(response.SecretString ?? '{}');
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  };
}
