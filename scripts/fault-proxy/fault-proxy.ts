/**
 * A fault-injecting HTTP proxy for tests and demos: it sits between a client and a server
 * on loopback and, when told to, loses responses, resets connections, delays requests or
 * plays a downstream outage.
 *
 * Hand-written on node:http rather than built on a proxy library: the one fault that matters
 * most, "the server committed but the client never saw the answer", needs the upstream
 * response read COMPLETELY and then the client socket destroyed instead of answered. Proxy
 * libraries stream the response through (so the client would see part of it) and the usual
 * choice, http-proxy, is unmaintained. Buffering whole bodies is fine for small JSON APIs.
 */
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { listen } from '../local/api-gateway.ts';
import {
  type FaultSelector,
  type FaultSettings,
  type ProxiedRequest,
  parseFaultSettings,
} from './fault-settings.ts';
import { forward, readAll, withoutHopByHop } from './forward.ts';

export type {
  FaultSelector,
  FaultSettings,
  OutageFault,
  ProxiedRequest,
} from './fault-settings.ts';
export { parseFaultSettings } from './fault-settings.ts';

export interface FaultProxyStats {
  /** Requests that reached the proxy (control requests excluded). */
  received: number;
  /** Requests sent upstream that got an upstream answer. */
  forwarded: number;
  /** Upstream answers delivered to the client. */
  answered: number;
  /** Upstream answers thrown away by lostResponse (the upstream did the work). */
  dropped: number;
  /** Client connections reset before forwarding. */
  reset: number;
  /** Requests answered 503 by an outage. */
  outage: number;
  /** Requests held back by delayMs. */
  delayed: number;
  /** Forwarding failures, answered 502. */
  upstreamErrors: number;
}

export interface FaultProxyOptions {
  /** The upstream base URL; must be on loopback. */
  target: string;
  /** Port to listen on (127.0.0.1); default 0 (any free port). */
  port?: number;
  faults?: FaultSettings;
  /** For `fraction`; default Math.random. */
  random?: () => number;
  /** Milliseconds, for the outage window; default Date.now. */
  now?: () => number;
  /** Serve `/__fault-proxy/{stats,faults}` to read stats and set faults over HTTP (the CLI does). */
  control?: boolean;
}

export interface FaultProxy {
  url: string;
  /** Merges `faults` into the active ones; a selector's firstN count restarts when it is set. */
  setFaults(faults: FaultSettings): void;
  clearFaults(): void;
  /** A copy of the counters. */
  readonly stats: FaultProxyStats;
  resetStats(): void;
  close(): Promise<void>;
}

export const CONTROL_PREFIX = '/__fault-proxy/';

interface ActiveSelector {
  selector: FaultSelector;
  seen: number;
}

interface ActiveFaults {
  lostResponse?: ActiveSelector;
  reset?: ActiveSelector;
  delayMs: number;
  outage?: { until: number; retryAfterSeconds: number };
}

/** Starts the proxy on 127.0.0.1; resolves once it listens. */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = loopbackTarget(options.target);
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const agent = new Agent({ keepAlive: true });
  const active: ActiveFaults = { delayMs: 0 };
  let stats = zeroStats();

  const setFaults = (faults: FaultSettings): void => {
    if (faults.lostResponse !== undefined)
      active.lostResponse = activeSelector(faults.lostResponse);
    if (faults.reset !== undefined) active.reset = activeSelector(faults.reset);
    if (faults.delayMs !== undefined) active.delayMs = Math.max(0, faults.delayMs);
    if (faults.outage !== undefined) {
      active.outage = faults.outage
        ? {
            until: now() + (faults.outage.durationMs ?? Number.POSITIVE_INFINITY),
            retryAfterSeconds: faults.outage.retryAfterSeconds ?? 1,
          }
        : undefined;
    }
  };
  const clearFaults = (): void => {
    active.lostResponse = undefined;
    active.reset = undefined;
    active.delayMs = 0;
    active.outage = undefined;
  };
  if (options.faults) setFaults(options.faults);

  const selected = (fault: ActiveSelector | undefined, request: ProxiedRequest): boolean => {
    if (!fault) return false;
    const { match, firstN, fraction } = fault.selector;
    if (match && !match(request)) return false;
    fault.seen += 1;
    if (firstN !== undefined && fault.seen > firstN) return false;
    return fraction === undefined || random() < fraction;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    if (options.control && url.startsWith(CONTROL_PREFIX)) {
      return control(req, res, url.slice(CONTROL_PREFIX.length), {
        stats: () => ({ ...stats }),
        resetStats: () => {
          stats = zeroStats();
        },
        setFaults,
        clearFaults,
      });
    }
    stats.received += 1;
    const body = await readAll(req);
    const request: ProxiedRequest = {
      method: req.method ?? 'GET',
      url,
      headers: req.headers,
      body,
    };

    if (active.outage && now() < active.outage.until) {
      stats.outage += 1;
      const retryAfter = active.outage.retryAfterSeconds;
      res.writeHead(503, {
        'content-type': 'application/problem+json',
        ...(retryAfter > 0 ? { 'retry-after': String(retryAfter) } : {}),
      });
      res.end(
        JSON.stringify({
          type: '/problems/service-unavailable',
          title: 'Service unavailable',
          status: 503,
          detail: 'Downstream outage injected by the fault proxy.',
        }),
      );
      return;
    }
    if (selected(active.reset, request)) {
      stats.reset += 1;
      req.socket.resetAndDestroy();
      return;
    }
    // Decided on arrival, applied after the upstream has answered.
    const loseResponse = selected(active.lostResponse, request);
    if (active.delayMs > 0) {
      stats.delayed += 1;
      await delay(active.delayMs);
    }

    let upstream: { status: number; headers: IncomingHttpHeaders; body: Buffer };
    try {
      upstream = await forward(agent, target, request);
    } catch (error) {
      stats.upstreamErrors += 1;
      if (res.destroyed) return;
      res.writeHead(502, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({
          type: '/problems/bad-gateway',
          title: 'Bad gateway',
          status: 502,
          detail: `The fault proxy could not reach ${target.origin}: ${String(error)}`,
        }),
      );
      return;
    }
    stats.forwarded += 1;
    if (loseResponse) {
      stats.dropped += 1;
      req.socket.destroy();
      return;
    }
    if (res.destroyed) return;
    res.writeHead(upstream.status, {
      ...withoutHopByHop(upstream.headers),
      'content-length': upstream.body.length,
    });
    res.end(upstream.body);
    stats.answered += 1;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const url = await listen(server, options.port ?? 0);

  return {
    url,
    setFaults,
    clearFaults,
    get stats() {
      return { ...stats };
    },
    resetStats: () => {
      stats = zeroStats();
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

function activeSelector(value: boolean | FaultSelector): ActiveSelector | undefined {
  if (value === false) return undefined;
  return { selector: value === true ? {} : value, seen: 0 };
}

function loopbackTarget(target: string): URL {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new Error(`fault proxy: target "${target}" is not a URL`);
  }
  const host = url.hostname;
  const loopback =
    host === 'localhost' || host === '[::1]' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
  if (url.protocol !== 'http:' || !loopback) {
    throw new Error(`fault proxy: target must be an http:// URL on loopback, got "${target}"`);
  }
  return url;
}

function zeroStats(): FaultProxyStats {
  return {
    received: 0,
    forwarded: 0,
    answered: 0,
    dropped: 0,
    reset: 0,
    outage: 0,
    delayed: 0,
    upstreamErrors: 0,
  };
}

async function control(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  proxy: {
    stats: () => FaultProxyStats;
    resetStats: () => void;
    setFaults: (faults: FaultSettings) => void;
    clearFaults: () => void;
  },
): Promise<void> {
  const reply = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const body = await readAll(req);
  const route = `${req.method} ${path}`;
  if (route === 'GET stats') return reply(200, proxy.stats());
  if (route === 'DELETE stats') {
    proxy.resetStats();
    return reply(200, proxy.stats());
  }
  if (route === 'DELETE faults') {
    proxy.clearFaults();
    return reply(200, { cleared: true });
  }
  if (route === 'PUT faults') {
    try {
      const settings = parseFaultSettings(JSON.parse(body.toString('utf8') || '{}'));
      proxy.setFaults(settings);
      return reply(200, { set: settings });
    } catch (error) {
      return reply(400, { error: error instanceof Error ? error.message : String(error) });
    }
  }
  reply(404, {
    error: `unknown control route ${route}; try GET stats, DELETE stats, PUT faults, DELETE faults`,
  });
}
