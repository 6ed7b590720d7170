/**
 * The attempt header, as the AWS SDKs send it (`amz-sdk-request: attempt=2; max=4`): the
 * client writes it on every attempt and the service counts retry_attempt_total from it, so
 * both sides must agree on its name and format.
 */

/** The header every attempt carries. */
export const ATTEMPT_HEADER = 'amz-sdk-request';

/** The header's value for attempt `attempt` (from 1) of at most `maxAttempts`. */
export function attemptHeaderValue(attempt: number, maxAttempts: number): string {
  return `attempt=${attempt}; max=${maxAttempts}`;
}

/**
 * The attempt number a client sent in the header; undefined when absent or malformed, so a
 * request without it counts nowhere.
 */
export function attemptFromHeader(value: string | undefined): number | undefined {
  const match = /(?:^|;)\s*attempt=(\d{1,6})\s*(?:;|$)/.exec(value ?? '');
  const attempt = match ? Number(match[1]) : Number.NaN;
  return attempt >= 1 ? attempt : undefined;
}
