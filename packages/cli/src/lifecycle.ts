import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';

/** How a shutdown ended: every request finished (`drained`), or some were cut at the deadline. */
export interface ShutdownResult {
  readonly forced: boolean;
  readonly durationMs: number;
}

const IDLE_SWEEP_MS = 25;

/**
 * Graceful shutdown for an HTTP(S) server. Once `shutdown` is called the server stops accepting
 * connections, answers any further request on a kept-alive connection with `Connection: close`,
 * closes connections as soon as they are idle, and waits up to `drainMs` for the requests in flight.
 * Connections still busy at the deadline are destroyed. Calling `shutdown` again (a second signal)
 * returns the same promise, and `forceNow` cuts the wait short.
 */
export class GracefulServer {
  private draining = false;
  private pending: Promise<ShutdownResult> | undefined;
  private force: (() => void) | undefined;
  private readonly inFlight = new Set<ServerResponse>();

  constructor(readonly server: HttpServer | HttpsServer) {
    // Runs before the application's handler (it was registered by createServer first, so prepend).
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      if (this.draining) res.setHeader('Connection', 'close');
      this.inFlight.add(res);
      res.once('close', () => this.inFlight.delete(res));
    });
  }

  /** Requests whose response has not finished yet. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  shutdown(drainMs: number): Promise<ShutdownResult> {
    if (this.pending) return this.pending;
    this.draining = true;
    for (const res of this.inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    const started = performance.now();
    const server = this.server;
    this.pending = new Promise<ShutdownResult>((resolve) => {
      let forced = false;
      const cut = (): void => {
        if (forced) return;
        forced = true;
        server.closeAllConnections();
      };
      this.force = cut;
      const sweeper = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
      const deadline = setTimeout(cut, Math.max(0, drainMs));
      server.close(() => {
        clearInterval(sweeper);
        clearTimeout(deadline);
        resolve({ forced, durationMs: performance.now() - started });
      });
      server.closeIdleConnections();
    });
    return this.pending;
  }

  /** Destroys every connection now (a second SIGINT); a pending `shutdown` then resolves. */
  forceNow(): void {
    this.force?.();
  }
}
