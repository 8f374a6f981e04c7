import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { GracefulServer } from '../src/lifecycle';
import { listenOn, parseListenAddress } from '../src/listen';
import { ConnectionRouter } from '../src/router';

/**
 * A server whose `/slow?ms=N` answers after N ms and `/` at once, fed by a router on a loopback
 * port (as `berth serve` runs it). Its `shutdown` closes the router first, as `stop` does.
 */
async function startServer(): Promise<{ graceful: GracefulServer; port: number }> {
  const server = createServer((req, res) => {
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0);
    const timer = setTimeout(() => res.end('done'), ms);
    res.once('close', () => clearTimeout(timer));
  });
  const graceful = new GracefulServer(server);
  const router = new ConnectionRouter(graceful);
  await listenOn(router.server, parseListenAddress('127.0.0.1:0'));
  const shutdown = graceful.shutdown.bind(graceful);
  graceful.shutdown = (drainMs: number) => {
    router.close();
    return shutdown(drainMs);
  };
  return { graceful, port: (router.server.address() as { port: number }).port };
}

function get(port: number, path: string, agent?: Agent): Promise<{ status: number; body: string; connection?: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** Resolves once the server is handling `count` requests (a fixed sleep races a busy machine). */
async function untilInFlight(graceful: GracefulServer, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (graceful.inFlightCount < count) {
    if (Date.now() > deadline) throw new Error(`never saw ${count} request(s) in flight`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('GracefulServer', () => {
  it('tells its activity observer when each request starts, and only once the last one in flight has ended', async () => {
    const events: string[] = [];
    const held: ServerResponse[] = [];
    const graceful = new GracefulServer(
      createServer((_req, res) => void held.push(res)),
      { requestStarted: () => events.push('started'), allRequestsEnded: () => events.push('all ended') },
    );
    const router = new ConnectionRouter(graceful);
    await listenOn(router.server, parseListenAddress('127.0.0.1:0'));
    const port = (router.server.address() as { port: number }).port;
    try {
      const first = get(port, '/');
      await untilInFlight(graceful, 1);
      const second = get(port, '/');
      await untilInFlight(graceful, 2);
      held[1]!.end('second');
      await second;
      const ended = Date.now() + 10_000;
      while (graceful.inFlightCount > 1 && Date.now() < ended) await new Promise((r) => setTimeout(r, 5));
      expect(graceful.inFlightCount).toBe(1);
      expect(events).toEqual(['started', 'started']);
      held[0]!.end('first');
      await first;
      const deadline = Date.now() + 10_000;
      while (events.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(events).toEqual(['started', 'started', 'all ended']);
    } finally {
      router.close();
      // Ends whatever a failed expectation left held, then the connections.
      for (const res of held) if (!res.writableEnded) res.end();
      await graceful.shutdown(1_000);
    }
  });

  it('lets an in-flight request finish within the drain timeout, then resolves', async () => {
    const { graceful, port } = await startServer();
    const inFlight = get(port, '/slow?ms=300');
    await untilInFlight(graceful, 1);
    const result = await graceful.shutdown(5_000);
    await expect(inFlight).resolves.toMatchObject({ status: 200, body: 'done' });
    // Not forced: the request ended before the 5 s deadline, and shutdown waited for it.
    expect(result.forced).toBe(false);
    expect(result.durationMs).toBeGreaterThanOrEqual(200);
  });

  it('cuts a request still running at the deadline', async () => {
    const { graceful, port } = await startServer();
    const inFlight = get(port, '/slow?ms=10000');
    inFlight.catch(() => undefined); // it fails before the assertion below looks at it
    await untilInFlight(graceful, 1);
    const result = await graceful.shutdown(200);
    await expect(inFlight).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(result.forced).toBe(true);
    // Cut at the 200 ms deadline, not after the request's 10 s (an ordering, not a speed requirement).
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it('closes idle kept-alive connections at once and refuses new connections', async () => {
    const { graceful, port } = await startServer();
    const agent = new Agent({ keepAlive: true });
    await get(port, '/', agent);
    const result = await graceful.shutdown(10_000);
    // Not forced: the idle connection was closed at once instead of being waited for until the deadline.
    expect(result.forced).toBe(false);
    await expect(get(port, '/')).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });

  it('answers a request in flight on a kept-alive connection with Connection: close', async () => {
    const { graceful, port } = await startServer();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = get(port, '/slow?ms=200', agent);
    await untilInFlight(graceful, 1);
    expect(graceful.inFlightCount).toBe(1);
    const shutdown = graceful.shutdown(5_000);
    expect(graceful.isDraining).toBe(true);
    await expect(first).resolves.toMatchObject({ status: 200, connection: 'close' });
    await expect(shutdown).resolves.toMatchObject({ forced: false });
    expect(graceful.inFlightCount).toBe(0);
    agent.destroy();
  });

  it('forceNow ends a pending shutdown before its deadline (a second signal)', async () => {
    const { graceful, port } = await startServer();
    const inFlight = get(port, '/slow?ms=10000');
    inFlight.catch(() => undefined); // it fails before the assertion below looks at it
    await untilInFlight(graceful, 1);
    const shutdown = graceful.shutdown(60_000);
    expect(graceful.shutdown(60_000)).toBe(shutdown);
    graceful.forceNow();
    await expect(shutdown).resolves.toMatchObject({ forced: true });
    await expect(inFlight).rejects.toThrow(/socket hang up|ECONNRESET/);
  });
});
