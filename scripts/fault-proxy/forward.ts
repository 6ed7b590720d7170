/**
 * Forwarding one buffered request upstream and reading the whole answer: the proxy needs the
 * complete upstream response in hand before it decides to deliver or drop it.
 */
import {
  type Agent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import type { ProxiedRequest } from './fault-settings.ts';

/** Connection-level headers a proxy must not pass on (RFC 9110 §7.6.1), plus host and length. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/** Reads a stream to its end. */
export async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `headers` without the hop-by-hop ones. */
export function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  }
  return kept;
}

/** Sends `request` to `target` over `agent` and resolves with the whole answer. */
export function forward(
  agent: Agent,
  target: URL,
  request: ProxiedRequest,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const basePath = target.pathname.replace(/\/+$/, '');
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        agent,
        hostname: target.hostname,
        port: target.port,
        method: request.method,
        path: `${basePath}${request.url}`,
        headers: {
          ...withoutHopByHop(request.headers),
          host: target.host,
          'content-length': request.body.length,
        },
      },
      (response) => {
        readAll(response).then(
          (body) =>
            resolve({ status: response.statusCode ?? 502, headers: response.headers, body }),
          reject,
        );
      },
    );
    outgoing.once('error', reject);
    outgoing.end(request.body);
  });
}
