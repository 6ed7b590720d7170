import type { APIGatewayProxyResult } from 'aws-lambda';
import { numberEnv } from '../commons/config.ts';
import { jsonResponse } from '../commons/http/responses.ts';
import { createPool } from '../store/database.ts';
import { databaseConnectionFromEnvironment } from '../store/database-connection.ts';

const db = createPool(await databaseConnectionFromEnvironment(), {
  max: numberEnv('DB_POOL_MAX', 1),
});

/** GET /health: 200 when the database answers, 503 when it does not. */
export async function handler(): Promise<APIGatewayProxyResult> {
  try {
    await db.query('SELECT 1');
    return jsonResponse(200, { status: 'ok' });
  } catch {
    return jsonResponse(503, { status: 'unavailable', detail: 'database unreachable' });
  }
}
