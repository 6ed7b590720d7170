/**
 * The local API gateway's REQUEST authorizer step: invoking the authorizer function, caching
 * its answer per key as API Gateway does, and checking its policy against the method ARN.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { UNAUTHORIZED } from '../../functions/authorizer/authorize-request.ts';
import type { RequestAuthorizer, Route } from './api-gateway.ts';
import { METHOD_ARN_PREFIX } from './api-gateway-events.ts';
import { invokeLocally } from './lambda-runtime.ts';

const AUTHORIZER_TIMEOUT_MS = 10_000;

/** Answers whether `apiKey` may call; 'unauthorized' when the authorizer refused to decide. */
export type Authorize = (
  apiKey: string,
  event: APIGatewayRequestAuthorizerEvent,
) => Promise<APIGatewayAuthorizerResult | 'unauthorized'>;

export function cachedAuthorizer(authorizer: RequestAuthorizer, ttlMs: number): Authorize {
  const cache = new Map<string, { result: APIGatewayAuthorizerResult; until: number }>();
  return async (apiKey, event) => {
    const cached = cache.get(apiKey);
    if (cached && cached.until > Date.now()) return cached.result;
    let result: APIGatewayAuthorizerResult;
    try {
      result = await invokeLocally(authorizer, event, {
        functionName: 'authorizer',
        timeoutMs: AUTHORIZER_TIMEOUT_MS,
        requestId: event.requestContext.requestId,
      });
    } catch (error) {
      if (error instanceof Error && error.message === UNAUTHORIZED) return 'unauthorized';
      throw error;
    }
    if (ttlMs > 0) {
      if (cache.size > 10_000) cache.clear();
      cache.set(apiKey, { result, until: Date.now() + ttlMs });
    }
    return result;
  };
}

export function methodArn(route: Route): string {
  return `${METHOD_ARN_PREFIX}/${route.method}${route.resource}`;
}

/** IAM-style evaluation of the authorizer's policy for one method: an explicit Deny wins. */
export function allows(result: APIGatewayAuthorizerResult, arn: string): boolean {
  let allowed = false;
  for (const statement of result.policyDocument?.Statement ?? []) {
    const resources = 'Resource' in statement ? [statement.Resource].flat() : [];
    if (!resources.some((resource) => arnMatches(String(resource), arn))) continue;
    if (statement.Effect === 'Deny') return false;
    if (statement.Effect === 'Allow') allowed = true;
  }
  return allowed;
}

function arnMatches(pattern: string, arn: string): boolean {
  const regex = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${regex}$`).test(arn);
}
