import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the scripted server saw it. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  key: string | undefined;
  body: string;
  /** performance.now() when the request had fully arrived. */
  at: number;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface ScriptedServer {
  url: string;
  requests: ReceivedRequest[];
  /** The requests that carried `key`, in arrival order. */
  requestsFor(key: string): ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A real node:http server on 127.0.0.1:0 standing in for the charge API: `answer` decides
 * each response from the request and what came before. Not the payment API: these tests are
 * about the client's behaviour on the wire, with answers chosen by the test.
 */
export async function startScriptedServer(
  answer: (request: ReceivedRequest, server: ScriptedServer) => ScriptedAnswer,
): Promise<ScriptedServer> {
  const requests: ReceivedRequest[] = [];
  const httpServer = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const keyHeader = req.headers['idempotency-key'];
    const request: ReceivedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      key: Array.isArray(keyHeader) ? keyHeader[0] : keyHeader,
      body: Buffer.concat(chunks).toString('utf8'),
      at: performance.now(),
    };
    requests.push(request);
    const { status, headers = {}, body } = answer(request, server);
    const isProblem = status >= 400;
    res.writeHead(status, {
      'content-type': isProblem ? 'application/problem+json' : 'application/json',
      ...headers,
    });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve()));
  const { port } = httpServer.address() as AddressInfo;
  const server: ScriptedServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    requestsFor: (key) => requests.filter((request) => request.key === key),
    close: async () => {
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await closed;
    },
  };
  return server;
}

/** A problem+json body like the API's. */
export function problem(status: number, slug: string, detail: string) {
  return { type: `/problems/${slug}`, title: slug, status, detail };
}
