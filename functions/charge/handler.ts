import { makeHandlerIdempotent } from '@aws-lambda-powertools/idempotency/middleware';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { PostgresPersistenceLayer } from '@effectively-once/powertools-idempotency-postgres';
import middy from '@middy/core';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { failpoint } from '../commons/failpoints.ts';
import { problemResponses } from '../commons/http/problem-responses.ts';
import { withRequestMetrics } from '../commons/http/request-metrics.ts';
import { jsonResponse, stagePrefixOf } from '../commons/http/responses.ts';
import { countMetric, logger } from '../commons/powertools.ts';
import { loadSettings } from '../commons/settings.ts';
import { chargeResource } from '../domain/charge.ts';
import { recordCharge } from '../store/charge-store.ts';
import type { Queryable } from '../store/database.ts';
import { functionPool } from '../store/database-connection.ts';
import { readCacheNamespace } from '../store/idempotency-cache-namespace.ts';
import { type ChargeRecorder, recordChargeOnce } from '../use-cases/record-charge-once.ts';
import { chargeIdempotencyConfig, REPLAYED_HEADER } from './idempotency-config.ts';
import { cacheKeyPrefix, namespacedCache } from './namespaced-cache.ts';
import {
  type ChargeRequestEvent,
  chargeRequestParser,
  parsedCommand,
} from './parse-charge-request.ts';

/** What {@link createChargeHandler} is built from: the stores and the HTTP-level tunables. */
export interface ChargeHandlerOptions {
  db: Queryable;
  persistenceStore: PostgresPersistenceLayer;
  /** How long a key's record (and so its replay) is kept, in seconds. */
  idempotencyTtlSeconds: number;
  /** The Retry-After a 409 carries. */
  inFlightRetryAfterSeconds: number;
}

/**
 * POST /charge. Middleware order matters:
 * 1. the Lambda context into the logger, so every log line carries the request id;
 * 2. problem responses (its onError runs last and answers every error as problem+json);
 * 3. request parsing: 400/401/413/415 before any key is claimed;
 * 4. Powertools idempotency: claim the (client, key) pair, or answer a replay, 409 or 422.
 * The inner function runs only for the invocation holding the claim: it calls the use case
 * (functions/use-cases/record-charge-once.ts) and maps its result to the 201.
 */
export function createChargeHandler(options: ChargeHandlerOptions) {
  const { db } = options;

  const idempotencyConfig = chargeIdempotencyConfig(options.idempotencyTtlSeconds);

  const charges: ChargeRecorder = { recordCharge: (command) => recordCharge(db, command) };

  async function chargeOnce(event: ChargeRequestEvent): Promise<APIGatewayProxyResult> {
    const { charge, replayed } = await recordChargeOnce(
      charges,
      parsedCommand(event),
      (created) => {
        // Counted as soon as the charge is committed, so a crash below cannot lose the count.
        if (created) countMetric('charge_created_total');
        // The record this invocation claimed is not complete yet. A crash here leaves the charge
        // committed and the record in progress: the retry must find this charge, not make one.
        failpoint('charge.after-commit');
      },
    );
    countMetric('idempotency_key_total', { outcome: replayed ? 'replay' : 'new' });
    return jsonResponse(201, chargeResource(charge), {
      Location: `${stagePrefixOf(event)}/charges/${charge.id}`,
      ...(replayed ? { [REPLAYED_HEADER]: 'true' } : {}),
    });
  }

  return middy<ChargeRequestEvent, APIGatewayProxyResult>()
    .use(injectLambdaContext(logger))
    .use(problemResponses({ inFlightRetryAfterSeconds: options.inFlightRetryAfterSeconds }))
    .use(chargeRequestParser())
    .use(
      makeHandlerIdempotent({
        persistenceStore: options.persistenceStore,
        config: idempotencyConfig,
      }),
    )
    .handler(chargeOnce);
}

const settings = loadSettings('charge', logger);
const db = await functionPool(settings);
const inProgressWindowSeconds = settings.IDEMPOTENCY_IN_PROGRESS_SECONDS;
const redisUrl = settings.IDEMPOTENCY_CACHE === 'redis' ? settings.REDIS_URL : undefined;

/**
 * Postgres alone, or with the Redis hot tier in front when IDEMPOTENCY_CACHE=redis. The tier's
 * modules (and the Redis client) are loaded only then, to keep the default cold start short.
 */
async function idempotencyStore(): Promise<PostgresPersistenceLayer> {
  if (!redisUrl) return new PostgresPersistenceLayer({ pool: db, inProgressWindowSeconds });
  const { RedisCachedPostgresPersistenceLayer, connectRedisIdempotencyCache } = await import(
    '@effectively-once/powertools-idempotency-postgres/redis'
  );
  // Read once per environment: the restore procedure (docs/RUNBOOK.md) bumps the epoch and
  // then replaces the running environments, so none keeps answering from the old namespace.
  const [cache, namespace] = await Promise.all([
    connectRedisIdempotencyCache(redisUrl),
    readCacheNamespace(db),
  ]);
  return new RedisCachedPostgresPersistenceLayer({
    pool: db,
    inProgressWindowSeconds,
    cache: namespacedCache(cache, cacheKeyPrefix(namespace)),
    cacheTimeoutMs: settings.REDIS_TIMEOUT_MS,
    onCacheResult: (result) => countMetric('idempotency_cache_total', { result }),
  });
}
const persistenceStore = await idempotencyStore();

/** The Lambda entry point: the handler over the stores configured from the environment. */
export const handler = withRequestMetrics(
  createChargeHandler({
    db,
    persistenceStore,
    idempotencyTtlSeconds: settings.IDEMPOTENCY_TTL_SECONDS,
    inFlightRetryAfterSeconds: settings.IN_FLIGHT_RETRY_AFTER_SECONDS,
  }),
);
