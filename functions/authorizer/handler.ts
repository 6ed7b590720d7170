import { numberEnv } from '../commons/config.ts';
import { createPool } from '../store/database.ts';
import { databaseConnectionFromEnvironment } from '../store/database-connection.ts';
import { createRequestAuthorizer } from './authorize-request.ts';

/** The Lambda REQUEST authorizer of the payments API (see authorize-request.ts). */
export const handler = createRequestAuthorizer({
  db: createPool(await databaseConnectionFromEnvironment(), { max: numberEnv('DB_POOL_MAX', 2) }),
});
