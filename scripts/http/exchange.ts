/**
 * One HTTP/1.1 request and its whole answer, over whatever keep-alive agent the caller holds:
 * the sender shared by the HTTP contract fuzz (scripts/prove/http-contract/sender.ts) and the
 * bench's load generator (scripts/bench/http-load.ts). Node's http module rather than fetch,
 * because both need what fetch hides: raw header lists (duplicates, odd casing), a chosen
 * agent and socket count, and no automatic redirects or decompression.
 */
import { type IncomingHttpHeaders, type RequestOptions, request } from 'node:http';

/** An answer as received: status, headers (names lower-cased), the body as UTF-8 text. */
export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * Sends one request (`body` written in one piece) and reads its whole answer. Rejects on a
 * connection error, or when no answer arrives within `timeoutMs` (the socket is destroyed).
 */
export function exchange(
  options: RequestOptions,
  body: Uint8Array | string | undefined,
  timeoutMs: number,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ ...options, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      response.on('error', reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
