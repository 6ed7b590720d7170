import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { authorizedClientId } from '../commons/http/client-identity.ts';
import { problemResponses } from '../commons/http/problem-responses.ts';
import { jsonResponse } from '../commons/http/responses.ts';
import { UnauthenticatedError } from '../commons/http/transport-errors.ts';
import { logger } from '../commons/powertools.ts';
import { loadSettings } from '../commons/settings.ts';
import { chargeResource } from '../domain/charge.ts';
import { findClientCharge } from '../store/charge-store.ts';
import type { Queryable } from '../store/database.ts';
import { functionPool } from '../store/database-connection.ts';
import { ledgerApplicationsOf } from '../store/ledger-store.ts';
import { type ChargeReader, readClientCharge } from '../use-cases/read-client-charge.ts';

/**
 * GET /charges/{id}: the caller's own charge and whether the ledger has applied it (and how
 * many times: anything but 0 or 1 is a bug). Anyone else's charge is indistinguishable from none.
 */
export function createGetChargeHandler(options: { db: Queryable }) {
  const charges: ChargeReader = {
    findClientCharge: (clientId, chargeId) => findClientCharge(options.db, clientId, chargeId),
    ledgerApplicationsOf: (chargeId) => ledgerApplicationsOf(options.db, chargeId),
  };

  async function getCharge(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const clientId = authorizedClientId(event);
    if (!clientId) throw new UnauthenticatedError();
    const { charge, ledger } = await readClientCharge(
      charges,
      clientId,
      event.pathParameters?.id ?? '',
    );
    return jsonResponse(200, { ...chargeResource(charge), ledger });
  }

  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(injectLambdaContext(logger))
    .use(problemResponses({ inFlightRetryAfterSeconds: 1 }))
    .handler(getCharge);
}

const settings = loadSettings('get-charge', logger);

/** The Lambda entry point: the handler over a pool configured from the environment. */
export const handler = createGetChargeHandler({
  db: await functionPool(settings),
});
