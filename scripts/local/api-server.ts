/**
 * The local API process: the charge, get-charge and health Lambdas behind the local
 * API Gateway. Started by `npm start` (scripts/local/start.ts) and by the tests, with
 * DATABASE_URL pointing at a migrated database. Prints one JSON line `{"listening": url}`.
 */

import { createLocalApiGateway, listen } from './api-gateway.ts';
import { DEFAULT_LOCAL_API_KEYS, parseApiKeys } from './api-keys.ts';
import { initLocalLambdaRuntime } from './lambda-runtime.ts';
import { metricsViewProxy } from './metrics-view.ts';

await initLocalLambdaRuntime();
// Several invocations share this process, so each "function" gets a bigger pool than in AWS.
process.env.DB_POOL_MAX ??= '10';

const apiKeys = parseApiKeys(process.env.LOCAL_API_KEYS || DEFAULT_LOCAL_API_KEYS);
const [charge, getCharge, health] = await Promise.all([
  import('../../functions/charge/handler.ts'),
  import('../../functions/get-charge/handler.ts'),
  import('../../functions/health/handler.ts'),
]);

// GET /metrics and /dashboard of the supervisor's metrics view, on the API's port (npm start).
const metricsViewUrl = process.env.METRICS_VIEW_URL;
const server = createLocalApiGateway({
  apiKeys,
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
