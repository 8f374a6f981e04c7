import net from 'node:net';

/** The XML S3 sends when it throttles. */
const SLOW_DOWN_BODY =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

type Fault = 'reset' | 'slowdown';

/**
 * A TCP proxy on loopback in front of an S3 server (RGW in the tests), for failures a real store
 * has: `freeze()` stops forwarding in both directions while connections stay open (what a
 * SIGSTOPped radosgw does: the kernel still accepts, nothing answers) until `thaw()`;
 * `inject(fault, n)` answers the next `n` requests with a reset connection or a 503 SlowDown
 * instead of forwarding them. With no target it accepts connections and never answers.
 */
export class FaultyProxy {
  /** How many faults were injected so far. */
  injected = 0;
  private frozenNow = false;
  private readonly held: Array<() => void> = [];
  private readonly sockets = new Set<net.Socket>();
  private faults: Fault[] = [];

  private constructor(
    private readonly server: net.Server,
    private readonly target?: { host: string; port: number },
  ) {}

  /** Starts a proxy on 127.0.0.1 (a free port) forwarding to `target` (`http://host:port`), or to nothing. */
  static async start(target?: string): Promise<FaultyProxy> {
    const url = target === undefined ? undefined : new URL(target);
    const server = net.createServer();
    const proxy = new FaultyProxy(server, url ? { host: url.hostname, port: Number(url.port || 80) } : undefined);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  get frozen(): boolean {
    return this.frozenNow;
  }

  freeze(): void {
    this.frozenNow = true;
  }

  thaw(): void {
    this.frozenNow = false;
    for (const release of this.held.splice(0)) release();
  }

  /** Thaws and drops the faults not injected yet. */
  heal(): void {
    this.faults = [];
    this.thaw();
  }

  inject(fault: Fault, count: number): void {
    for (let i = 0; i < count; i++) this.faults.push(fault);
  }

  async close(): Promise<void> {
    this.thaw();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  /** Forwards `from`'s data to `to`, holding it (and reading no more) while the proxy is frozen. */
  private forward(from: net.Socket, to: net.Socket, onRequest?: () => boolean): void {
    from.on('data', (chunk: Buffer) => {
      if (onRequest && !onRequest()) return;
      if (this.frozenNow) {
        from.pause();
        this.held.push(() => {
          if (!to.destroyed) to.write(chunk);
          from.resume();
        });
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => to.end());
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (!this.target) return; // accepts and never answers
    const upstream = net.connect(this.target.port, this.target.host);
    this.track(upstream);
    let faulted = false;
    upstream.on('close', () => {
      if (!faulted) client.destroy();
    });
    client.on('close', () => upstream.destroy());
    // A fault replaces the next request on this connection: it never reaches the store.
    const onRequest = (): boolean => {
      const fault = this.faults.shift();
      if (fault === undefined) return true;
      this.injected++;
      faulted = true;
      if (fault === 'reset') {
        client.resetAndDestroy();
      } else {
        const body = Buffer.from(SLOW_DOWN_BODY);
        client.end(
          `HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.toString()}`,
        );
      }
      upstream.destroy();
      return false;
    };
    this.forward(client, upstream, onRequest);
    this.forward(upstream, client);
  }
}
