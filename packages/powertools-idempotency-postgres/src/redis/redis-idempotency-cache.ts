import { createClient } from '@redis/client';

/** The few cache operations the hot tier needs; any Redis/Valkey client can provide them. */
export interface IdempotencyCache {
  /** SET key value NX GET EX ttl: null if this call set it, else the value already there. */
  setIfAbsentOrGet(key: string, value: string, ttlSeconds: number): Promise<string | null>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * The hot tier over node-redis (Redis 7+ or Valkey: SET with both NX and GET). Commands fail
 * immediately while disconnected instead of queueing, so a dead Redis costs a request
 * nothing but the breaker's bookkeeping; the client reconnects in the background.
 */
export async function connectRedisIdempotencyCache(
  url: string,
  options: { connectTimeoutMs?: number } = {},
): Promise<IdempotencyCache & { close(): Promise<void> }> {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 1_000,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2_000),
    },
  });
  // Errors surface on the commands; the 'error' event must still be handled to not crash.
  client.on('error', () => {});
  // A Redis that is down at cold start must not stop the function: wait for the connection
  // at most connectTimeoutMs, then let it continue in the background.
  const connecting = client.connect().catch(() => {});
  await Promise.race([
    connecting,
    new Promise((resolve) => setTimeout(resolve, options.connectTimeoutMs ?? 1_000)),
  ]);
  const seconds = (ttl: number) => String(Math.max(1, Math.ceil(ttl)));
  return {
    setIfAbsentOrGet: async (key, value, ttl) =>
      (await client.sendCommand(['SET', key, value, 'NX', 'GET', 'EX', seconds(ttl)])) as
        | string
        | null,
    get: async (key) => (await client.sendCommand(['GET', key])) as string | null,
    set: async (key, value, ttl) => {
      await client.sendCommand(['SET', key, value, 'EX', seconds(ttl)]);
    },
    delete: async (key) => {
      await client.sendCommand(['DEL', key]);
    },
    close: async () => {
      if (client.isOpen) await client.close();
    },
  };
}
