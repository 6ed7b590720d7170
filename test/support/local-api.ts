import type { ChildService } from '../../scripts/local/child-process.ts';
import type { MetricsRegistry } from '../../scripts/local/emf-metrics.ts';
import { processEnvironment } from '../../scripts/local/stack/environment.ts';
import { type LineSink, startProcess } from '../../scripts/local/stack/processes.ts';

export const CLIENT_A = { apiKey: 'key-client-a', clientId: 'client-a' };
export const CLIENT_B = { apiKey: 'key-client-b', clientId: 'client-b' };
export const TWO_CLIENTS = `${CLIENT_A.apiKey}:${CLIENT_A.clientId},${CLIENT_B.apiKey}:${CLIENT_B.clientId}`;

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
  options: { onLine?: LineSink } = {},
): Promise<LocalApi> {
  const { service, metrics, url } = await startProcess(
    'api',
    processEnvironment({ databaseUrl, apiKeys: TWO_CLIENTS, port: 0 }, { quiet: true, extra: env }),
    options,
  );
  return { url: String(url), service, metrics, stop: () => service.stop() };
}
