import type { APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { logger } from '../commons/powertools.ts';
import { loadSettings } from '../commons/settings.ts';
import { functionPool } from '../store/database-connection.ts';
import { createRequestAuthorizer } from './authorize-request.ts';

const settings = loadSettings('authorizer', logger);
const authorizeRequest = createRequestAuthorizer({
  db: await functionPool(settings),
});

/** The Lambda REQUEST authorizer of the payments API (see authorize-request.ts). */
export function handler(event: APIGatewayRequestAuthorizerEvent, context: Context) {
  logger.addContext(context);
  return authorizeRequest(event);
}
