/**
 * The metrics view over HTTP (docs/CONTRACT.md "Metrics"):
 *
 * - `GET /metrics`: Prometheus text exposition (0.0.4) of every series;
 * - `GET /metrics/history`: the same series sampled once a second (the dashboard's backfill);
 * - `POST /metrics/client?source=NAME`: a client's {@link ClientMetricsSnapshot} as JSON;
 * - `GET /dashboard`: a self-contained HTML page charting the contract's metrics, polling /metrics;
 *
 * and the proxy the local API gateway forwards those paths through.
 */
import { readFileSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { listen, requestUrl } from '../api-gateway.ts';
import { parseClientSnapshot } from './client-snapshots.ts';
import { MetricsView } from './view.ts';

const MAX_CLIENT_BODY_BYTES = 64 * 1024;

/** Paths the view answers; the API gateway forwards exactly these to it. */
export const METRICS_VIEW_PATHS = [
  '/metrics',
  '/metrics/history',
  '/metrics/client',
  '/dashboard',
] as const;

/**
 * Answers a metrics-view request from `view`; returns false (and leaves `res` alone) for any
 * other path.
 */
export function handleMetricsViewRequest(
  view: MetricsView,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const url = requestUrl(req.url);
  if (!url) return false;
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /metrics':
      send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', view.render());
      return true;
    case 'GET /metrics/history':
      send(
        res,
        200,
        'application/json',
        JSON.stringify({ intervalMs: view.sampleIntervalMs, points: view.history() }),
      );
      return true;
    case 'GET /dashboard':
      send(res, 200, 'text/html; charset=utf-8', dashboardHtml());
      return true;
    case 'POST /metrics/client':
      void receiveClientMetrics(view, req, res, url.searchParams.get('source') ?? 'client');
      return true;
    default:
      return false;
  }
}

async function receiveClientMetrics(
  view: MetricsView,
  req: IncomingMessage,
  res: ServerResponse,
  source: string,
) {
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_CLIENT_BODY_BYTES) throw new Error('body too large');
      chunks.push(chunk as Buffer);
    }
    const snapshot = parseClientSnapshot(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    if (!/^[\w.-]{1,64}$/.test(source)) throw new Error('source must be 1-64 of [A-Za-z0-9_.-]');
    view.setClientMetrics(source, snapshot);
    res.statusCode = 204;
    res.end();
  } catch (error) {
    send(
      res,
      400,
      'application/problem+json',
      JSON.stringify({
        type: '/problems/invalid-client-metrics',
        title: 'Not a client metrics snapshot',
        status: 400,
        detail: error instanceof Error ? error.message : String(error),
      }),
    );
  }
}

let dashboard: string | undefined;
function dashboardHtml(): string {
  dashboard ??= readFileSync(new URL('../dashboard.html', import.meta.url), 'utf8');
  return dashboard;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

export interface RunningMetricsView {
  url: string;
  view: MetricsView;
  close(): Promise<void>;
}

/**
 * Serves `view` (a new one by default) on 127.0.0.1:`port` (0: any free port); `/` redirects
 * to the dashboard. Starts sampling its history.
 */
export async function startMetricsView(
  options: { port?: number; view?: MetricsView } = {},
): Promise<RunningMetricsView> {
  const view = options.view ?? new MetricsView();
  view.startSampling();
  const server = createServer((req, res) => {
    if (handleMetricsViewRequest(view, req, res)) return;
    if (req.method === 'GET' && (req.url === '/' || req.url === '')) {
      res.writeHead(302, { location: '/dashboard' });
      res.end();
      return;
    }
    send(res, 404, 'text/plain', `not found; try ${METRICS_VIEW_PATHS.join(', ')}\n`);
  });
  server.keepAliveTimeout = 5_000;
  const url = await listen(server, options.port ?? 0);
  return {
    url,
    view,
    close: async () => {
      view.stopSampling();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * For the local API gateway: forwards the metrics-view paths (no API key, as a separate
 * CloudWatch console would need none) to the view at `viewUrl`. Returns a function that
 * answers such a request and returns true, or returns false for every other request.
 */
export function metricsViewProxy(
  viewUrl: string,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const target = new URL(viewUrl);
  return (req, res) => {
    const path = requestUrl(req.url)?.pathname;
    if (!path || !(METRICS_VIEW_PATHS as readonly string[]).includes(path)) return false;
    const upstream = httpRequest(
      {
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.once('error', (error) => {
      if (res.headersSent) return void res.destroy();
      send(
        res,
        502,
        'application/problem+json',
        JSON.stringify({
          type: '/problems/metrics-view-unavailable',
          title: 'The local metrics view is not reachable',
          status: 502,
          detail: String(error),
        }),
      );
    });
    req.pipe(upstream);
    return true;
  };
}
