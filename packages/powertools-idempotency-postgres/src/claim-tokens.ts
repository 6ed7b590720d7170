import { InvokeStore } from '@aws/lambda-invoke-store';

const CLAIM_TOKENS = Symbol.for('effectively-once.idempotency.claim-tokens');

/**
 * The claim tokens held by the current invocation, keyed by idempotency record id.
 *
 * A token must belong to one invocation, not to the process: with several invocations in
 * one process (Lambda's multi-concurrency mode, or the local API server), a takeover by a
 * second invocation must not hand its token to the first. The Lambda runtime runs each
 * invocation inside `InvokeStore.run`, so per-invocation values live there. Outside any
 * invocation context (a plain script), `fallback` is used: one caller at a time.
 */
export async function claimTokensOfCurrentInvocation(
  fallback: Map<string, string>,
): Promise<Map<string, string>> {
  const store = await InvokeStore.getInstanceAsync();
  if (!store.hasContext()) return fallback;
  let tokens = store.get<Map<string, string>>(CLAIM_TOKENS);
  if (!tokens) {
    tokens = new Map();
    store.set(CLAIM_TOKENS, tokens);
  }
  return tokens;
}
