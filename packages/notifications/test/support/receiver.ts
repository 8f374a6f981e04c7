import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WireEvent } from '@berth/notifications';

/** One POST the receiver got. */
export interface ReceivedEnvelope {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly events: WireEvent[];
}

/** How the receiver answers: a status code, or `hang` (never answers). */
export type ReceiverMode = number | 'hang';

/**
 * A real webhook receiver on 127.0.0.1: records every envelope it answers with a 2xx/3xx status,
 * counts every request. `stop()` closes the port (later POSTs get connection refused);
 * `Receiver.start(port)` brings one up again on the same port.
 */
export class Receiver {
  readonly envelopes: ReceivedEnvelope[] = [];
  /** Every request, answered or not. */
  requests = 0;
  /** When each request arrived (`performance.now()`). */
  readonly arrivals: number[] = [];
  mode: ReceiverMode = 200;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(port = 0, mode: ReceiverMode = 200): Promise<Receiver> {
    const holder: { receiver?: Receiver } = {};
    const server = http.createServer((req, res) => holder.receiver?.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const receiver = new Receiver(server, (server.address() as AddressInfo).port);
    receiver.mode = mode;
    holder.receiver = receiver;
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/events`;
  }

  /** Every event delivered so far, in arrival order. */
  events(): WireEvent[] {
    return this.envelopes.flatMap((e) => e.events);
  }

  /** Resolves once `count` events were delivered; rejects after `timeoutMs`. */
  async waitForEvents(count: number, timeoutMs = 60_000): Promise<WireEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events().length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} events, got ${this.events().length} after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events();
  }

  /** Resolves once `count` requests arrived (answered or not). */
  async waitForRequests(count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} requests, got ${this.requests}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Closes the port and every open connection (hanging requests included). */
  stop(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests++;
    this.arrivals.push(performance.now());
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const mode = this.mode;
      if (mode === 'hang') return;
      if (mode >= 200 && mode < 400) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: WireEvent[] };
        this.envelopes.push({ method: req.method ?? '', headers: req.headers, events: body.events });
      }
      res.statusCode = mode;
      if (mode >= 300 && mode < 400) res.setHeader('Location', '/elsewhere');
      res.end();
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    });
  }
}
