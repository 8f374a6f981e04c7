import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/** How a shutdown ended: every request finished (`drained`), or some were cut at the deadline. */
export interface ShutdownResult {
  readonly forced: boolean;
  readonly durationMs: number;
}

const IDLE_SWEEP_MS = 25;

/** Told when a request starts and when the last request in flight has ended (`IdleMemoryRelease`). */
export interface RequestActivity {
  requestStarted(): void;
  allRequestsEnded(): void;
}

/**
 * An HTTP(S) server that does not listen itself: its process's `ConnectionRouter` (or, in a helper
 * process, the main process over IPC) hands it accepted connections with `accept`. It keeps track
 * of them and shuts down gracefully: once `shutdown` is called it answers any further request on a
 * kept-alive connection with `Connection: close`, closes connections as soon as they are idle, and
 * waits up to `drainMs` for the requests in flight. Connections still open at the deadline are
 * destroyed. Calling `shutdown` again (a second signal) returns the same promise, and `forceNow`
 * cuts the wait short.
 */
export class GracefulServer {
  private draining = false;
  private pending: Promise<ShutdownResult> | undefined;
  private force: (() => void) | undefined;
  private onClosed: (() => void) | undefined;
  private readonly inFlight = new Set<ServerResponse>();
  private readonly connections = new Set<Socket>();

  constructor(
    readonly server: HttpServer | HttpsServer,
    activity?: RequestActivity,
  ) {
    // Node starts its per-connection bookkeeping (headersTimeout, requestTimeout, the idle list
    // closeIdleConnections reads) when a server starts listening; this one never does itself.
    server.emit('listening');
    // Runs before the application's handler (it was registered by createServer first, so prepend).
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      if (this.draining) res.setHeader('Connection', 'close');
      this.inFlight.add(res);
      activity?.requestStarted();
      res.once('close', () => {
        this.inFlight.delete(res);
        if (this.inFlight.size === 0) activity?.allRequestsEnded();
      });
    });
  }

  /** Serves a connection accepted elsewhere (paused, or fresh from IPC); refused while draining. */
  accept(socket: Socket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    socket.once('close', () => {
      this.connections.delete(socket);
      if (this.connections.size === 0) this.onClosed?.();
    });
    this.server.emit('connection', socket);
    socket.resume();
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
        forced = true;
        for (const socket of this.connections) socket.destroy();
      };
      this.force = cut;
      const sweeper = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
      const deadline = setTimeout(cut, Math.max(0, drainMs));
      this.onClosed = () => {
        this.onClosed = undefined;
        clearInterval(sweeper);
        clearTimeout(deadline);
        // Stops Node's connection-checking timer; the server never listened, so close reports that.
        server.close(() => undefined);
        resolve({ forced, durationMs: performance.now() - started });
      };
      server.closeIdleConnections();
      if (this.connections.size === 0) this.onClosed();
    });
    return this.pending;
  }

  /** Destroys every connection now (a second SIGINT); a pending `shutdown` then resolves. */
  forceNow(): void {
    this.force?.();
  }
}
