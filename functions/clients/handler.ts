import { numberEnv } from '../commons/config.ts';
import { createPool } from '../store/database.ts';
import { databaseConnectionFromEnvironment } from '../store/database-connection.ts';
import {
  ClientManagementError,
  createClient,
  listClientKeys,
  revokeKeys,
  rotateClientKey,
} from './manage-clients.ts';

const db = createPool(await databaseConnectionFromEnvironment(), {
  max: numberEnv('DB_POOL_MAX', 1),
});

/** What an operator sends with `aws lambda invoke` (docs/RUNBOOK.md, "API clients and keys"). */
export type ClientsCommand =
  | { command: 'create'; clientId: string; usageKey?: string }
  | { command: 'list' }
  | { command: 'rotate'; clientId: string; overlapSeconds?: number }
  | { command: 'revoke'; keyId?: string; clientId?: string };

/**
 * `npm run clients` for a deployed stack, whose database is reachable only from the VPC.
 * Not behind the API: only IAM principals allowed to invoke it can manage keys. The new
 * secret is in the invoke response only (never logged).
 */
export async function handler(event: ClientsCommand): Promise<unknown> {
  try {
    switch (event.command) {
      case 'create':
        // Behind API Gateway a client without a usage-plan key would be refused (403).
        if (!event.usageKey) {
          return { error: 'usageKey is required: the value of its API key in the usage plan' };
        }
        return await createClient(db, event.clientId, event.usageKey);
      case 'list':
        return await listClientKeys(db);
      case 'rotate':
        return await rotateClientKey(db, event.clientId, event.overlapSeconds);
      case 'revoke':
        return {
          revoked: await revokeKeys(
            db,
            event.keyId ? { keyId: event.keyId } : { clientId: event.clientId ?? '' },
          ),
        };
      default:
        return { error: 'command must be one of create, list, rotate, revoke' };
    }
  } catch (error) {
    if (error instanceof ClientManagementError) return { error: error.message };
    throw error;
  }
}
