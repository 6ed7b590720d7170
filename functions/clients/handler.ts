import type { Context } from 'aws-lambda';
import { logger } from '../commons/powertools.ts';
import { loadSettings } from '../commons/settings.ts';
import { functionPool } from '../store/database-connection.ts';
import {
  ClientManagementError,
  createClient,
  listClientKeys,
  revokeKeys,
  rotateClientKey,
} from './manage-clients.ts';

const settings = loadSettings('clients', logger);
const db = await functionPool(settings);

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
export async function handler(event: ClientsCommand, context?: Context): Promise<unknown> {
  if (context) logger.addContext(context);
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
