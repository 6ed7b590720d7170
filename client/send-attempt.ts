/**
 * One attempt on the wire: POST /charge with the key, the body bytes and the attempt header,
 * cut off at its timeout, and the answer (or its absence) as a value the retry loop in
 * charge-client.ts decides on.
 */
import { ATTEMPT_HEADER, attemptHeaderValue } from '../primitives/attempt-header.ts';

/** How an attempt ended: an answer (any status), or none (timeout, refused, reset, lost). */
export type AttemptOutcome =
  | { kind: 'answer'; status: number; headers: Headers; body: unknown }
  | { kind: 'no-answer'; timedOut: boolean; error: unknown };

/** What one attempt sends. */
export interface AttemptRequest {
  apiKey: string;
  /** The Idempotency-Key, the same on every attempt of one logical charge. */
  key: string;
  /** The body bytes, serialized once per logical charge. */
  body: Uint8Array;
  timeoutMs: number;
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
}

/** Sends one attempt to `chargeUrl` with `fetchImpl`; never throws. */
export async function sendAttempt(
  fetchImpl: typeof fetch,
  chargeUrl: string,
  request: AttemptRequest,
): Promise<AttemptOutcome> {
  const signal = AbortSignal.timeout(Math.max(1, Math.ceil(request.timeoutMs)));
  try {
    const response = await fetchImpl(chargeUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, application/problem+json',
        'idempotency-key': request.key,
        'x-api-key': request.apiKey,
        // Which attempt this is, as the AWS SDKs say it: the server counts
        // retry_attempt_total{attempt} from it, so the attempt-3 alarm sees every client.
        [ATTEMPT_HEADER]: attemptHeaderValue(request.attempt, request.maxAttempts),
      },
      body: request.body,
      redirect: 'manual',
      signal,
    });
    const text = await response.text();
    return {
      kind: 'answer',
      status: response.status,
      headers: response.headers,
      body: parse(text),
    };
  } catch (error) {
    return { kind: 'no-answer', timedOut: signal.aborted, error };
  }
}

/** A body as JSON when it is JSON, as text when it is not, null when empty. */
function parse(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `fetch failed` says nothing; the cause chain says what the socket did. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth += 1) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    const text = [typeof code === 'string' ? code : '', typeof message === 'string' ? message : '']
      .filter(Boolean)
      .join(': ');
    if (text && !parts.includes(text)) parts.push(text);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join(' <- ') || String(error);
}
