import { request } from 'node:http';
import { connect } from 'node:net';
import { startInProcess, type InProcessRegistry } from './helpers/in-process';

/**
 * What a hostile (or merely unusual) client sends to the server `berth serve` starts: long headers,
 * which distribution accepts up to 1 MiB, and CONNECT, which must get an answer.
 */

/** What came back on a raw connection: the bytes received before it closed, and how it closed. */
interface RawExchange {
  readonly received: string;
  readonly error?: string;
}

/** Writes `text` on a fresh connection and collects everything until the server closes it. */
function rawExchange(address: string, text: string): Promise<RawExchange> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect(Number(address.slice(colon + 1)), address.slice(0, colon));
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ received: Buffer.concat(chunks).toString('latin1'), error }));
    socket.write(text);
  });
}

/** GET with one extra header of `bytes` bytes; resolves with the status. */
function getWithLongHeader(address: string, path: string, bytes: number): Promise<number> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = request(
      { host: address.slice(0, colon), port: Number(address.slice(colon + 1)), path, headers: { 'X-Long': 'a'.repeat(bytes) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the server berth serve starts', () => {
  let registry: InProcessRegistry;
  beforeAll(async () => {
    registry = await startInProcess({ version: '0.1', storage: { inmemory: {} }, http: { addr: '127.0.0.1:0' } });
  });
  afterAll(() => registry?.stop());

  it('accepts a request header of 100 KiB (a long Accept or _state is legitimate; distribution takes up to 1 MiB)', async () => {
    expect(await getWithLongHeader(registry.address, '/v2/', 100 * 1024)).toBe(200);
  });

  it('refuses request headers of more than 1 MiB with 431 (or cuts the connection) and keeps serving', async () => {
    const request = `GET /v2/ HTTP/1.1\r\nHost: registry\r\nX-Long: ${'a'.repeat(1024 * 1024 + 4096)}\r\n\r\n`;
    const exchange = await rawExchange(registry.address, request);
    // The server answers 431 and closes; a client still sending may see the reset before the answer.
    if (exchange.received !== '') expect(exchange.received).toMatch(/^HTTP\/1\.1 431 /);
    else expect(exchange.error).toBe('ECONNRESET');
    expect((await fetch(`${registry.url}/v2/`)).status).toBe(200);
  });

  it.each([
    ['an authority', 'example.com:443'],
    ['the API base', '/v2/'],
  ])('answers a CONNECT to %s with 405 UNSUPPORTED and closes the connection', async (_what, target) => {
    const exchange = await rawExchange(registry.address, `CONNECT ${target} HTTP/1.1\r\nHost: example.com:443\r\n\r\ntunnelled bytes`);
    expect(exchange.error).toBeUndefined();
    const [head, body] = exchange.received.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 405 /);
    expect(head).toMatch(/\r\nContent-Type: application\/json/i);
    expect(JSON.parse(body ?? '')).toMatchObject({ errors: [{ code: 'UNSUPPORTED' }] });
  });
});
