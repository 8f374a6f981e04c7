import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@berth/storage-driver';
import type { HealthChecks } from './health';
import { formatAddress, listenOn, parseListenAddress } from './listen';
import type { RegistryMetrics } from './metrics';

/** The path of the health endpoint (distribution's). */
export const HEALTH_PATH = '/debug/health';

export interface DebugServerOptions {
  readonly health: HealthChecks;
  /** With `http.debug.prometheus.enabled`: the metrics and the path they are served at. */
  readonly prometheus?: { readonly path: string; readonly metrics: RegistryMetrics };
  readonly logger?: Logger;
}

function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': String(bytes.length), 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/**
 * The debug server's requests (GET or HEAD):
 * - `/debug/health`: 200 `{}` when every health check passes, else 503 with the failing checks as
 *   `{"<check>": "<error>"}` (distribution's format); a failing advisory check (`redis`) is listed
 *   with 200;
 * - the Prometheus path (`/metrics` by default), when enabled: the exposition text.
 * Anything else is 404, other methods 405.
 */
export function debugRequestHandler(options: DebugServerOptions): RequestListener {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://debug.invalid').pathname;
    const known = path === HEALTH_PATH || path === options.prometheus?.path;
    if (!known) return send(req, res, 404, 'text/plain; charset=utf-8', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    if (path === HEALTH_PATH) {
      const failing = options.health.failing();
      return send(req, res, options.health.unhealthy ? 503 : 200, 'application/json', JSON.stringify(failing));
    }
    const metrics = options.prometheus!.metrics;
    metrics.metrics().then(
      (text) => send(req, res, 200, metrics.contentType, text),
      (error: unknown) => {
        options.logger?.error('collecting metrics failed', { error: error instanceof Error ? error.message : String(error) });
        send(req, res, 500, 'text/plain; charset=utf-8', 'collecting metrics failed\n');
      },
    );
  };
}

/** A debug server that is listening. */
export interface RunningDebugServer {
  /** `127.0.0.1:5001`, as logged. */
  readonly address: string;
  /** Stops listening and closes its connections. */
  close(): Promise<void>;
}

/**
 * Starts the debug server on `http.debug.addr` (`HOST:PORT`). It is plain HTTP and unauthenticated:
 * bind it to an address only operators and the Prometheus scraper reach.
 */
export async function startDebugServer(addr: string, options: DebugServerOptions): Promise<RunningDebugServer> {
  const server: Server = createServer(debugRequestHandler(options));
  server.keepAliveTimeout = 5_000;
  await listenOn(server, parseListenAddress(addr, 'tcp', 'http.debug.addr'), 'http.debug.addr');
  const address = formatAddress(server.address());
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
