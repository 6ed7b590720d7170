import { createClient } from '@redis/client';
import { type RedisServer, startRedisServer } from '../../scripts/local/stack/redis-server.ts';

/** A connected node-redis client, as `createClient` returns it. */
type RedisConnection = ReturnType<typeof createRedisConnection>;
const createRedisConnection = (url: string) => createClient({ url, disableOfflineQueue: true });

export interface TestRedis extends RedisServer {
  /** A connected client for the test's own commands (FLUSHALL, DEL, GET). */
  client: RedisConnection;
  close(): Promise<void>;
}

/** The stack's redis-server of its own, and a client on it for the test's own commands. */
export async function startTestRedis(): Promise<TestRedis> {
  const server = await startRedisServer();
  const client = createRedisConnection(server.url);
  client.on('error', () => {});
  await client.connect();
  return {
    ...server,
    client,
    close: async () => {
      client.destroy();
      await server.stop();
    },
  };
}
