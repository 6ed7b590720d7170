import type { Server } from 'node:http';
import { PostgresPersistenceLayer } from '@effectively-once/powertools-idempotency-postgres';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { headerValues } from '../../functions/commons/http/responses.ts';
import { OUTBOX_RELAY_LEASE } from '../../functions/relay/relay-settings.ts';
import { createPool } from '../../functions/store/database.ts';
import { markPublished, pendingEvents } from '../../functions/store/outbox-store.ts';
import { tryAcquireLease } from '../../functions/store/relay-lease-store.ts';
import { createLocalApiGateway, listen } from '../local/api-gateway.ts';
import { initLocalLambdaRuntime } from '../local/lambda-runtime.ts';

// The handler module is imported once for its factory. Its own default handler (and the
// pool behind it) is never invoked here; pg connects lazily, so the placeholder URL it is
// initialised with is never dialled. Each region builds its handler on its own pool below.
process.env.DATABASE_URL ??= 'postgres://unused@127.0.0.1:9/unused';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
await initLocalLambdaRuntime();
const { createChargeHandler } = await import('../../functions/charge/handler.ts');

export const EXPERIMENT_API_KEY = 'failover-experiment-key';
export const EXPERIMENT_CLIENT_ID = 'failover-experiment-client';

/**
 * The experiment measures the charge path across a failover, not authentication: one fixed
 * key, answered without a database (a standby region's is read-only until promoted).
 */
async function experimentAuthorizer(
  event: APIGatewayRequestAuthorizerEvent,
): Promise<APIGatewayAuthorizerResult> {
  const allowed = headerValues(event, 'x-api-key')[0] === EXPERIMENT_API_KEY;
  return {
    principalId: EXPERIMENT_CLIENT_ID,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [
        { Action: 'execute-api:Invoke', Effect: allowed ? 'Allow' : 'Deny', Resource: '*' },
      ],
    },
    context: { clientId: EXPERIMENT_CLIENT_ID },
  };
}

export interface RegionOptions {
  name: string;
  databaseUrl: string;
  /** The claim window after which a dead invocation's key may be taken over (seconds). */
  inProgressWindowSeconds: number;
  /** How often the region's relay drains its outbox; 0: no relay. */
  relayIntervalMs: number;
  poolSize: number;
}

/**
 * One region's serving stack, in this process: the real charge handler (Powertools
 * idempotency over the PostgreSQL persistence layer, the charge + outbox write) behind the
 * local API Gateway adapter, on the region's database, and the outbox relay's claim loop.
 * `publishedChargeIds` is what left the region through its relay: effects that escaped it.
 */
export interface Region {
  name: string;
  baseUrl: string;
  publishedChargeIds: Set<string>;
  /** The region is gone: open connections are cut, the relay stops. */
  fail(): void;
  close(): Promise<void>;
}

export async function startRegion(options: RegionOptions): Promise<Region> {
  const pool = createPool(options.databaseUrl, { max: options.poolSize });
  const handler = createChargeHandler({
    db: pool,
    persistenceStore: new PostgresPersistenceLayer({
      pool,
      inProgressWindowSeconds: options.inProgressWindowSeconds,
    }),
    idempotencyTtlSeconds: 86_400,
    inFlightRetryAfterSeconds: 1,
  });
  const server: Server = createLocalApiGateway({
    authorizer: experimentAuthorizer,
    authorizerCacheTtlMs: 0,
    routes: [
      {
        method: 'POST',
        resource: '/charge',
        functionName: 'charge',
        handler,
        apiKeyRequired: true,
      },
    ],
  });
  const baseUrl = await listen(server, 0);

  const publishedChargeIds = new Set<string>();
  let relaying = options.relayIntervalMs > 0;
  const relay = (async () => {
    while (relaying) {
      // The relay's own steps: read the oldest pending events, "publish" them (record that
      // they left the region), mark them under the region's relay lease.
      await (async () => {
        const token = await tryAcquireLease(pool, OUTBOX_RELAY_LEASE, options.name, 60_000);
        if (token === undefined) return;
        const events = await pendingEvents(pool, 100);
        for (const event of events) publishedChargeIds.add(String(event.payload.chargeId));
        const ids = events.map((event) => event.eventId);
        if (ids.length > 0)
          await markPublished(
            pool,
            ids,
            { leaseName: OUTBOX_RELAY_LEASE, fencingToken: token },
            { busToo: true },
          );
      })().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, options.relayIntervalMs));
    }
  })();

  let failed = false;
  const fail = () => {
    if (failed) return;
    failed = true;
    relaying = false;
    server.close();
    server.closeAllConnections();
  };
  return {
    name: options.name,
    baseUrl,
    publishedChargeIds,
    fail,
    close: async () => {
      fail();
      await relay;
      await pool.end().catch(() => {});
    },
  };
}
