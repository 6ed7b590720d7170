import { createServer, type Server } from 'node:http';
import { listen } from '../../scripts/local/api-gateway.ts';

export interface EventBridgeEndpoint {
  url: string;
  /** While true, every PutEvents call is answered 500, as during a service outage. */
  failing: boolean;
  /** The `detail.eventId` of every entry accepted, in order (a repeat is listed again). */
  accepted: string[];
  /** PutEvents calls answered with a failure. */
  rejectedCalls: number;
  stop(): Promise<void>;
}

/**
 * An EventBridge endpoint on loopback that speaks PutEvents (AWS JSON 1.1) for the relay's
 * real SDK client: nothing here runs EventBridge, and LocalStack is not available, so this is
 * the smallest real HTTP peer that lets a test take the bus down and bring it back.
 */
export async function startEventBridgeEndpoint(): Promise<EventBridgeEndpoint> {
  const endpoint: EventBridgeEndpoint = {
    url: '',
    failing: false,
    accepted: [],
    rejectedCalls: 0,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      if (request.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
        response.writeHead(400).end(JSON.stringify({ __type: 'UnknownOperationException' }));
        return;
      }
      if (endpoint.failing) {
        endpoint.rejectedCalls++;
        response
          .writeHead(500)
          .end(JSON.stringify({ __type: 'InternalException', message: 'the bus is down' }));
        return;
      }
      const { Entries = [] } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        Entries?: { Detail?: string }[];
      };
      const entries = Entries.map((entry, index) => {
        endpoint.accepted.push(JSON.parse(entry.Detail ?? '{}').eventId);
        return { EventId: `eb-${endpoint.accepted.length}-${index}` };
      });
      response.writeHead(200).end(JSON.stringify({ FailedEntryCount: 0, Entries: entries }));
    });
  });
  endpoint.url = await listen(server, 0);
  return endpoint;
}
