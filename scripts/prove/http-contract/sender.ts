/** Sends the fuzz's requests exactly as generated, over keep-alive connections. */
import { Agent } from 'node:http';
import { exchange } from '../../http/exchange.ts';
import type { FuzzAnswer, FuzzRequest } from './oracle.ts';

/** Sends requests over keep-alive connections to `baseUrl`, headers exactly as listed. */
export function createSender(baseUrl: string, maxSockets = 16) {
  const target = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets });
  const send = async (request: FuzzRequest): Promise<FuzzAnswer> => {
    const body = Buffer.from(request.body, 'utf8');
    const raw: string[] = ['Host', target.host];
    for (const [name, value] of request.headers) raw.push(name, value);
    if (body.length > 0 || request.method !== 'GET')
      raw.push('Content-Length', String(body.length));
    const { hostname, port } = target;
    const { method, path } = request;
    return exchange({ agent, hostname, port, method, path, headers: raw }, body, 30_000);
  };
  return { send, close: () => agent.destroy() };
}
