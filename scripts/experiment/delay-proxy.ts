import { createServer, type Server, Socket } from 'node:net';

export interface DelayProxy {
  port: number;
  /** The link goes dark: bytes in flight are dropped, nothing new connects. */
  cut(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP relay that holds every chunk for `oneWayDelayMs` in each direction: the WAN between
 * two regions, put between the standby's WAL receiver and the primary. Loopback would
 * otherwise make replication lag (and so the window of loss) microseconds long.
 *
 * If one side dies, bytes already "on the wire" still arrive, in order, after the delay. If
 * the link is {@link DelayProxy.cut} (a region lost with its network), they never arrive.
 * All chunks and the end of stream wait the same delay, and Node fires equal-delay timers in
 * the order they were set, so the stream stays in order. Hand-written because it is the whole of it: no
 * library adds a fixed latency to a TCP stream in-process.
 */
export async function startDelayProxy(options: {
  targetPort: number;
  oneWayDelayMs: number;
}): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = new Socket();
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    forwardDelayed(inbound, outbound, options.oneWayDelayMs);
    forwardDelayed(outbound, inbound, options.oneWayDelayMs);
    outbound.connect(options.targetPort, '127.0.0.1');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('delay proxy has no address');
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    return closed;
  };
  return { port: address.port, cut: close, close };
}

function forwardDelayed(from: Socket, to: Socket, delayMs: number): void {
  from.on('data', (chunk) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
  });
  from.on('close', () => {
    setTimeout(() => to.end(), delayMs);
  });
}
