/**
 * How POST /charge uses Powertools idempotency: which part of the parsed request is the key,
 * which part must match on a repeat, and how a replay is marked. One place, used by the
 * handler and by the bench (scripts/bench/pg-limit.ts), so the bench hashes exactly as the
 * handler does.
 */
import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { countMetric } from '../commons/powertools.ts';

/** The header that marks an answer as a replay of the key's first answer. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/**
 * The key is the (client, Idempotency-Key) pair the request parser put under `charge`; the
 * payload that must match is the body's fingerprint (SHA-256 of its canonical JSON).
 */
export function chargeIdempotencyConfig(ttlSeconds: number): IdempotencyConfig {
  return new IdempotencyConfig({
    eventKeyJmesPath: 'charge.[clientId, idempotencyKey]',
    payloadValidationJmesPath: 'charge.fingerprint',
    hashFunction: 'sha256',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: ttlSeconds,
    responseHook: (response) => {
      countMetric('idempotency_key_total', { outcome: 'replay' });
      const stored = response as unknown as APIGatewayProxyResult;
      return { ...stored, headers: { ...stored.headers, [REPLAYED_HEADER]: 'true' } };
    },
  });
}
