/**
 * The local API process: the charge, get-charge and health Lambdas behind the local
 * API Gateway, with the same REQUEST authorizer as in AWS. Started by `npm start`
 * (scripts/local/start.ts) and by the tests, with DATABASE_URL pointing at a migrated
 * database. Seeds the LOCAL_API_KEYS dev keys into it (idempotently) before listening.
 * Prints one JSON line `{"listening": url}`.
 */

import { AUTHORIZER_CACHE_TTL_SECONDS } from '../../functions/authorizer/authorize-request.ts';
import { seedDevKeys } from '../../functions/clients/manage-clients.ts';
import { parseSettings } from '../../functions/commons/settings.ts';
import { createPool } from '../../functions/store/database.ts';
import { databaseConnection } from '../../functions/store/database-connection.ts';
import { createLocalApiGateway, listen } from './api-gateway.ts';
import { DEFAULT_LOCAL_API_KEYS, parseApiKeys } from './api-keys.ts';
import { initLocalLambdaRuntime } from './lambda-runtime.ts';
import { metricsViewProxy } from './metrics-view.ts';

await initLocalLambdaRuntime();
// Several invocations share this process, so each "function" gets a bigger pool than in AWS.
process.env.DB_POOL_MAX ??= '10';

async function seedLocalApiKeys(): Promise<void> {
  const pool = createPool(await databaseConnection(parseSettings('clients', process.env)), {
    max: 1,
  });
  try {
    await seedDevKeys(pool, parseApiKeys(process.env.LOCAL_API_KEYS || DEFAULT_LOCAL_API_KEYS));
  } finally {
    await pool.end();
  }
}

// Seeding and loading the handlers overlap; the server listens only once both are done.
const [, charge, getCharge, health, authorizer] = await Promise.all([
  seedLocalApiKeys(),
  import('../../functions/charge/handler.ts'),
  import('../../functions/get-charge/handler.ts'),
  import('../../functions/health/handler.ts'),
  import('../../functions/authorizer/handler.ts'),
]);

const cacheSeconds = process.env.LOCAL_AUTHORIZER_CACHE_SECONDS;
const authorizerCacheTtlMs =
  1000 * (cacheSeconds === undefined ? AUTHORIZER_CACHE_TTL_SECONDS : Number(cacheSeconds));
if (!Number.isFinite(authorizerCacheTtlMs) || authorizerCacheTtlMs < 0) {
  throw new Error('LOCAL_AUTHORIZER_CACHE_SECONDS must be a number of seconds >= 0');
}

// GET /metrics and /dashboard of the supervisor's metrics view, on the API's port (npm start).
const metricsViewUrl = process.env.METRICS_VIEW_URL;
const server = createLocalApiGateway({
  authorizer: authorizer.handler,
  authorizerCacheTtlMs,
  ...(metricsViewUrl ? { intercept: metricsViewProxy(metricsViewUrl) } : {}),
  routes: [
    {
      method: 'POST',
      resource: '/charge',
      functionName: 'charge',
      handler: charge.handler,
      apiKeyRequired: true,
    },
    {
      method: 'GET',
      resource: '/charges/{id}',
      functionName: 'get-charge',
      handler: getCharge.handler,
      apiKeyRequired: true,
    },
    {
      method: 'GET',
      resource: '/health',
      functionName: 'health',
      handler: health.handler,
      apiKeyRequired: false,
    },
  ],
});
const url = await listen(server, Number(process.env.PORT ?? 3000));
console.log(JSON.stringify({ listening: url }));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
