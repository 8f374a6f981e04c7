import net from 'node:net';
import tls from 'node:tls';
import type { Writable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SinkClosedError, StorageDriverError } from '@berth/storage-driver';
import type { S3Context } from './context';

/** How long the presigned URL of one read stays valid (it is used at once). */
const URL_EXPIRES_SECONDS = 15 * 60;
/** A kept-alive connection nobody reuses is closed after this long. */
const KEEP_ALIVE_MS = 4_000;
/** Kept-alive connections per endpoint. */
const MAX_IDLE_PER_ENDPOINT = 16;
/** A response head larger than this is not an S3 GetObject answer. */
const MAX_HEAD_BYTES = 64 * 1024;

type Socket = net.Socket;

/** What one request on one connection came to. */
type Outcome =
  /** Every byte asked for was accepted by the sink. */
  | 'sent'
  /** A kept-alive connection the store had closed meanwhile: nothing happened, try a fresh one. */
  | 'stale'
  /** No byte reached the sink, and the store did not answer 200/206 (or could not be reached). */
  | 'declined';

/**
 * Object reads on the wire, without the SDK's HTTP stack: one GET of a presigned URL (signed by the
 * driver's own SDK client, so with its credentials and signing) on a plain TCP or TLS connection,
 * whose body bytes go to the sink in the buffers the socket read them into. Node's HTTP client
 * copies every body chunk out of the socket's buffer in its parser (measured: the parser's
 * `socketOnData` was the largest cost of a 256 MiB pull, and the copies doubled the garbage
 * collector's work); here a chunk is written to the sink as read, with the sink's back-pressure
 * pausing the socket, so a pull holds at most a socket read and the sink's buffer.
 *
 * Anything but a 200/206 answer before the first body byte (a missing object, a range past the end,
 * a throttled or failing store, an unreachable endpoint) is *declined*: the caller reads through the
 * SDK instead, whose retries and error mapping then apply unchanged. A connection lost after body
 * bytes were sent rejects with `StorageDriverError` (the sink has part of the range). A sink that
 * closes first rejects with `SinkClosedError`, and the connection is destroyed at once.
 */
export class DirectReader {
  private readonly idle = new Map<string, Socket[]>();
  private readonly sockets = new Set<Socket>();
  private closed = false;
  private readonly userAgent: string;

  constructor(
    private readonly ctx: S3Context,
    private readonly options: {
      readonly skipVerify: boolean;
      /** A connection attempt gives up after this long (`connecttimeout`, as the SDK client's). */
      readonly connectTimeoutMs: number;
      /** A read whose store sends nothing for this long while the sink wants more is abandoned (`idletimeout`). */
      readonly idleTimeoutMs: number;
      /** A presigned URL for the command, signed as the driver's other requests. */
      readonly presign: (command: GetObjectCommand, expiresIn: number) => Promise<string>;
    },
  ) {
    this.userAgent = (ctx.params.userAgent ?? 'berth').replace(/[\r\n]/g, ' ');
  }

  /** Open connections, in use or kept alive (for tests: none may outlive an abandoned read). */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Connections reading right now (open, not kept alive for reuse). */
  get activeConnections(): number {
    let idle = 0;
    for (const list of this.idle.values()) idle += list.length;
    return this.sockets.size - idle;
  }

  /**
   * Sends bytes `[offset, offset + length)` of `key` to `sink`; resolves true once the sink accepted
   * the last one, false when the store declined before any byte was sent (see the class).
   * `openEnded` asks for `bytes=offset-` and stops after `length` bytes (RGW serves long open
   * ranges faster than closed ones); the connection is then reused only when the object ended there.
   */
  async send(key: string, offset: number, length: number, sink: Writable, openEnded: boolean): Promise<boolean> {
    if (this.closed) return false;
    if (sink.destroyed || sink.writableEnded) throw new SinkClosedError();
    const url = new URL(
      await this.options.presign(new GetObjectCommand({ Bucket: this.ctx.bucket, Key: key }), URL_EXPIRES_SECONDS),
    );
    const range = openEnded ? (offset > 0 ? `bytes=${offset}-` : undefined) : `bytes=${offset}-${offset + length - 1}`;
    const request = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${range ? `Range: ${range}\r\n` : ''}Accept-Encoding: identity\r\nUser-Agent: ${this.userAgent}\r\n\r\n`;
    for (;;) {
      const { socket, reused } = this.acquire(url);
      if (!socket) return false;
      const outcome = await this.exchange(socket, url, request, offset, length, sink);
      if (outcome === 'sent') return true;
      if (outcome === 'declined' || !reused) return false;
    }
  }

  /** Closes every connection (the driver's `close`). */
  close(): void {
    this.closed = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.idle.clear();
  }

  private endpoint(url: URL): string {
    return `${url.protocol}//${url.host}`;
  }

  private acquire(url: URL): { socket?: Socket; reused: boolean } {
    const list = this.idle.get(this.endpoint(url));
    for (let socket = list?.pop(); socket; socket = list?.pop()) {
      if (socket.destroyed) continue;
      socket.setTimeout(0);
      socket.removeAllListeners('timeout');
      socket.ref();
      return { socket, reused: true };
    }
    const secure = url.protocol === 'https:';
    const port = Number(url.port) || (secure ? 443 : 80);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: !this.options.skipVerify })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.forget(socket, url));
    return { socket, reused: false };
  }

  private forget(socket: Socket, url: URL): void {
    this.sockets.delete(socket);
    const list = this.idle.get(this.endpoint(url));
    const at = list?.indexOf(socket) ?? -1;
    if (list && at >= 0) list.splice(at, 1);
  }

  /** Keeps a connection whose response was read to its end for the next read, or closes it. */
  private release(socket: Socket, url: URL, reusable: boolean): void {
    const endpoint = this.endpoint(url);
    const list = this.idle.get(endpoint) ?? [];
    if (!reusable || this.closed || socket.destroyed || list.length >= MAX_IDLE_PER_ENDPOINT) {
      socket.destroy();
      return;
    }
    socket.pause();
    socket.setTimeout(KEEP_ALIVE_MS, () => socket.destroy());
    socket.unref();
    list.push(socket);
    this.idle.set(endpoint, list);
  }

  /** One request and its response on `socket` (see `Outcome`). */
  private exchange(socket: Socket, url: URL, request: string, offset: number, length: number, sink: Writable): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      let head: Buffer | undefined = Buffer.alloc(0);
      let received = false;
      let skip = 0;
      let remaining = length;
      let bodyLeft = 0;
      let reusable = true;
      let settled = false;
      // The store is given `idleTimeoutMs` to send something whenever the sink wants more: a
      // watchdog looks at a progress counter four times in that span (no timer work per chunk).
      let progress = 0;
      let watched = -1;
      let quietTicks = 0;
      let pausedForSink = false;
      const { idleTimeoutMs, connectTimeoutMs } = this.options;
      const watchdog = setInterval(() => {
        if (pausedForSink || progress !== watched) quietTicks = 0;
        else if (++quietTicks >= 4) socket.destroy(new Error(`the store sent nothing for ${idleTimeoutMs} ms`));
        watched = progress;
      }, idleTimeoutMs / 4);
      watchdog.unref();

      const connecting = socket.connecting;
      const connectTimer = connecting ? setTimeout(() => socket.destroy(new Error(`no connection to ${url.host} within ${connectTimeoutMs} ms`)), connectTimeoutMs) : undefined;

      const cleanup = (): void => {
        clearInterval(watchdog);
        clearTimeout(connectTimer);
        socket.off('data', onData);
        socket.off('error', onSocketEnd);
        socket.off('end', onSocketEnd);
        socket.off('close', onSocketEnd);
        sink.off('drain', onDrain);
        sink.off('close', onSinkClosed);
        sink.off('error', onSinkError);
      };
      const settle = (outcome: Outcome | Error): void => {
        if (settled) return;
        settled = true;
        cleanup();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };

      const onSinkClosed = (): void => {
        socket.destroy();
        settle(new SinkClosedError());
      };
      const onSinkError = (error: Error): void => {
        socket.destroy();
        settle(new SinkClosedError({ cause: error }));
      };
      const onDrain = (): void => {
        pausedForSink = false;
        socket.resume();
      };
      const onSocketEnd = (error?: unknown): void => {
        socket.destroy();
        if (!received) return settle('stale');
        if (head !== undefined) return settle('declined');
        const cause = error instanceof Error ? error : undefined;
        settle(new StorageDriverError(this.ctx.name, `the connection to the store ended ${remaining} bytes before the range asked for`, { cause }));
      };

      const onBody = (data: Buffer): void => {
        let chunk = data;
        if (chunk.length > bodyLeft) {
          reusable = false;
          chunk = chunk.subarray(0, bodyLeft);
        }
        bodyLeft -= chunk.length;
        if (skip > 0) {
          const n = Math.min(skip, chunk.length);
          chunk = chunk.subarray(n);
          skip -= n;
        }
        if (chunk.length >= remaining) {
          // The last bytes asked for: done once the sink accepted them.
          if (bodyLeft > 0 || chunk.length > remaining) reusable = false;
          const last = chunk.subarray(0, remaining);
          remaining = 0;
          socket.pause();
          pausedForSink = true;
          sink.off('drain', onDrain);
          sink.write(last, (error) => {
            if (settled) return;
            if (error) return onSinkError(error);
            settled = true;
            cleanup();
            this.release(socket, url, reusable);
            resolve('sent');
          });
          return;
        }
        if (chunk.length > 0) {
          remaining -= chunk.length;
          if (!sink.write(chunk)) {
            socket.pause();
            pausedForSink = true;
            sink.once('drain', onDrain);
          }
        }
        if (bodyLeft === 0) {
          this.release(socket, url, reusable);
          settle(new StorageDriverError(this.ctx.name, `the object ended ${remaining} bytes before the range asked for`));
        }
      };

      const onHead = (end: number, bytes: Buffer): void => {
        const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
        const headers = new Map<string, string>();
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        }
        const contentLength = Number(headers.get('content-length'));
        if ((status !== 200 && status !== 206) || !Number.isSafeInteger(contentLength) || headers.has('transfer-encoding')) {
          socket.destroy();
          return settle('declined');
        }
        if (/\bclose\b/i.test(headers.get('connection') ?? '')) reusable = false;
        // A 200 is the whole object (a store that ignored the range): skip to the offset.
        skip = status === 200 ? offset : 0;
        bodyLeft = contentLength;
        head = undefined;
        const rest = bytes.subarray(end + 4);
        if (rest.length > 0 || bodyLeft === 0) onBody(rest);
      };

      const onData = (data: Buffer): void => {
        received = true;
        progress++;
        if (settled) return;
        if (head === undefined) return onBody(data);
        const bytes: Buffer = head.length === 0 ? data : Buffer.concat([head, data]);
        const end = bytes.indexOf('\r\n\r\n');
        if (end >= 0) return onHead(end, bytes);
        if (bytes.length > MAX_HEAD_BYTES) {
          socket.destroy();
          return settle('declined');
        }
        head = bytes;
      };

      sink.once('close', onSinkClosed);
      sink.once('error', onSinkError);
      socket.on('data', onData);
      socket.once('error', onSocketEnd);
      socket.once('end', onSocketEnd);
      socket.once('close', onSocketEnd);
      if (connecting) socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      socket.write(request);
      socket.resume();
    });
  }
}
