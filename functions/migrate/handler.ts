import type { Context } from 'aws-lambda';
import { logger } from '../commons/powertools.ts';
import { loadSettings } from '../commons/settings.ts';
import type { DatabaseConnection } from '../store/database.ts';
import { databaseConnection } from '../store/database-connection.ts';
import { retryUntilReachable } from './retry-until-reachable.ts';
import { type ReadSecret, setRolePasswords } from './role-passwords.ts';
import { migrateToLatest } from './run-migrations.ts';

const settings = loadSettings('migrate', logger);

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
  context?: Context,
): Promise<{ applied: string[]; rolesUpdated: string[] }> {
  if (context) logger.addContext(context);
  const connection = await databaseConnection(settings);
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
  // The settings checked the shape at init.
  const raw = settings.DATABASE_ROLE_SECRETS;
  return raw ? (JSON.parse(raw) as Record<string, string>) : {};
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
