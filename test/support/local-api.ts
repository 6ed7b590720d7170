import { type ChildService, startChild } from '../../scripts/local/child-process.ts';
import { MetricsRegistry } from '../../scripts/local/emf-metrics.ts';

export const CLIENT_A = { apiKey: 'key-client-a', clientId: 'client-a' };
export const CLIENT_B = { apiKey: 'key-client-b', clientId: 'client-b' };

export interface LocalApi {
  url: string;
  service: ChildService;
  /** The metrics the API's handlers emitted (their EMF lines). */
  metrics: MetricsRegistry;
  stop(): Promise<void>;
}

/**
 * Starts the real local API process (API Gateway adapter + the Lambda handlers) against
 * `databaseUrl`, with two clients' API keys. Extra env arms failpoints or tunes windows.
 */
export async function startLocalApi(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<LocalApi> {
  const metrics = new MetricsRegistry();
  const service = startChild('scripts/local/api-server.ts', {
    name: 'api',
    onLine: (line) => metrics.observeLine(line),
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: '0',
      LOCAL_API_KEYS: `${CLIENT_A.apiKey}:${CLIENT_A.clientId},${CLIENT_B.apiKey}:${CLIENT_B.clientId}`,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      ...env,
    },
  });
  const ready = await service.ready;
  return { url: String(ready.listening), service, metrics, stop: () => service.stop() };
}
