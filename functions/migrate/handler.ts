import { logger } from '../commons/powertools.ts';
import { databaseConnectionFromEnvironment } from '../store/database-connection.ts';
import { migrateToLatest } from './run-migrations.ts';

/**
 * Applies pending migrations during `cdk deploy` (a CDK Trigger invokes it after the database
 * and its proxy exist, before the API and the relay are wired to it). A failure fails the
 * deploy. The SQL files are copied next to the bundle, so they ship with the code.
 */
export async function handler(): Promise<{ applied: string[] }> {
  const applied = await migrateToLatest(await databaseConnectionFromEnvironment(), {
    log: (message) => logger.info(message),
  });
  logger.info('migrations applied', { applied });
  return { applied };
}
