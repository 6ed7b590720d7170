import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SqsEndpoint, startSqsEndpoint } from '../../scripts/local/sqs.ts';

let endpoint: SqsEndpoint;
beforeAll(async () => {
  endpoint = await startSqsEndpoint();
});
afterAll(() => endpoint?.stop());

/**
 * The local addresses of the listening TCP sockets on `port`, from the kernel's socket
 * tables: `0100007F` is 127.0.0.1, `00000000` is every interface (0.0.0.0).
 */
async function listeningAddresses(port: number): Promise<string[]> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const addresses: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const line of lines) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [address, localPort] = (local ?? '').split(':');
      if (state === '0A' && localPort === hexPort) addresses.push(address as string);
    }
  }
  return addresses;
}

describe('the embedded SQS endpoint', () => {
  it('listens on 127.0.0.1 only', async () => {
    const { port, hostname } = new URL(endpoint.endpoint);
    expect(hostname).toBe('127.0.0.1');
    expect((await fetch(endpoint.endpoint, { method: 'POST' })).status).toBeLessThan(500);
    expect(await listeningAddresses(Number(port))).toEqual(['0100007F']);
  });
});
