import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { jsonResponse } from '../commons/http/responses.ts';
import { logger } from '../commons/powertools.ts';
import { loadSettings } from '../commons/settings.ts';
import { functionPool } from '../store/database-connection.ts';

const settings = loadSettings('health', logger);
const db = await functionPool(settings);

/** GET /health: 200 when the database answers, 503 when it does not. */
export async function handler(_event: unknown, context: Context): Promise<APIGatewayProxyResult> {
  logger.addContext(context);
  try {
    await db.query('SELECT 1');
    return jsonResponse(200, { status: 'ok' });
  } catch {
    return jsonResponse(503, { status: 'unavailable', detail: 'database unreachable' });
  }
}
