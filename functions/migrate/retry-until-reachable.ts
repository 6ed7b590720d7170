/**
 * Errors that mean "the database is not there yet" (DNS not propagated, proxy not accepting,
 * the server starting up), as opposed to a broken migration, which must fail at once.
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  '57P03', // cannot_connect_now: the server is starting
  '08006', // connection_failure
  '08001', // sqlclient_unable_to_establish_sqlconnection
]);

/** Whether `error` means the database could not be reached yet (worth retrying), not a bug. */
export function isUnreachable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code && UNREACHABLE_CODES.has(code)) return true;
  return /timeout exceeded when trying to connect|Connection terminated/i.test(message ?? '');
}

/**
 * Runs `work`, retrying with capped exponential backoff (1 s, 2 s, 4 s … 30 s, full jitter
 * off: a deploy waits, it does not compete) while it fails because the database is
 * unreachable, until `deadline` (epoch ms). Any other error is thrown at once. Hand-written:
 * eight lines do not justify a dependency in the migrate bundle.
 */
export async function retryUntilReachable<T>(
  work: () => Promise<T>,
  options: {
    deadline: number;
    onRetry?: (error: unknown, delayMs: number) => void;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<T> {
  const sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const delayMs = Math.min(30_000, 1000 * 2 ** attempt);
      if (!isUnreachable(error) || Date.now() + delayMs > options.deadline) throw error;
      options.onRetry?.(error, delayMs);
      await sleep(delayMs);
    }
  }
}
