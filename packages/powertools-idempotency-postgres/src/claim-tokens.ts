import { InvokeStore } from '@aws/lambda-invoke-store';

const CLAIMS = Symbol.for('powertools-idempotency-postgres.claims');

/**
 * The claims the current invocation holds or has seen, keyed by idempotency record id.
 *
 * A claim must belong to one invocation, not to the process: with several invocations in
 * one process (Lambda's multi-concurrency mode, or a local API server), a takeover by a
 * second invocation must not hand its token to the first. The Lambda runtime runs each
 * invocation inside `InvokeStore.run`, so per-invocation values live there. Outside any
 * invocation context (a plain script), `fallback` is used: one caller at a time.
 */
export async function claimsOfCurrentInvocation<T>(
  fallback: Map<string, T>,
): Promise<Map<string, T>> {
  const store = await InvokeStore.getInstanceAsync();
  if (!store.hasContext()) return fallback;
  let claims = store.get<Map<string, T>>(CLAIMS);
  if (!claims) {
    claims = new Map();
    store.set(CLAIMS, claims);
  }
  return claims;
}
