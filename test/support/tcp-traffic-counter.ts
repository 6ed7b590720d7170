import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TrafficCounter {
  /** Host:port to connect to instead of the target. */
  port: number;
  /** Bytes clients have sent to the target so far. */
  bytesToTarget(): number;
  close(): Promise<void>;
}

/**
 * A loopback TCP relay that counts the bytes its clients send to `target`. Put between a
 * process and PostgreSQL, it proves a request did not touch the database at all.
 */
export async function countTrafficTo(
  targetHost: string,
  targetPort: number,
): Promise<TrafficCounter> {
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      bytes += chunk.length;
    });
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    bytesToTarget: () => bytes,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
