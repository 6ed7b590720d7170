import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { headerValues } from '../commons/http/responses.ts';
import { apiKeyIdOf, apiKeyMatches } from '../domain/api-keys.ts';
import { findValidApiKey } from '../store/api-client-store.ts';
import type { Queryable } from '../store/database.ts';

/**
 * How long API Gateway (and the local gateway) cache an authorizer answer per x-api-key
 * value: a revoked or expired key is refused at most this long after the change.
 */
export const AUTHORIZER_CACHE_TTL_SECONDS = 60;

/** API Gateway answers 401 (gateway response UNAUTHORIZED) to this exact error message. */
export const UNAUTHORIZED = 'Unauthorized';

/** Compared against when the key id is unknown, so both paths do the same work. */
const NO_SUCH_KEY = Buffer.alloc(32);

/**
 * The REQUEST authorizer: resolves the secret in x-api-key to the client it belongs to.
 * - no key: throws `Unauthorized` (401);
 * - unknown, revoked or expired key, or a hash that does not match: a Deny policy (403);
 * - otherwise Allow for the whole stage (the answer is cached per key, not per method), with
 *   the client id as principal and in the context, where the handlers read it, and the
 *   client's usage-plan key, so API Gateway throttles per client (apiKeySource AUTHORIZER).
 * The secret is never logged, returned or put in a metric.
 */
export function createRequestAuthorizer(options: { db: Queryable }) {
  return async function authorizeRequest(
    event: APIGatewayRequestAuthorizerEvent,
  ): Promise<APIGatewayAuthorizerResult> {
    const presented = headerValues(event, 'x-api-key')[0];
    if (presented === undefined || presented === '') throw new Error(UNAUTHORIZED);
    const stored = await findValidApiKey(options.db, apiKeyIdOf(presented));
    const matches = apiKeyMatches(presented, stored?.secretHash ?? NO_SUCH_KEY) && !!stored;
    const resource = stageWildcard(event.methodArn);
    if (!matches || !stored) return policy('anonymous', 'Deny', resource);
    return {
      ...policy(stored.clientId, 'Allow', resource),
      context: { clientId: stored.clientId, keyId: stored.keyId },
      ...(stored.usageKey ? { usageIdentifierKey: stored.usageKey } : {}),
    };
  };
}

/** `arn:…:apiId/stage/METHOD/path` → `arn:…:apiId/stage/*`: every method of the stage. */
export function stageWildcard(methodArn: string): string {
  const [api, stage] = methodArn.split('/');
  return `${api}/${stage}/*`;
}

function policy(
  principalId: string,
  effect: 'Allow' | 'Deny',
  resource: string,
): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
  };
}
