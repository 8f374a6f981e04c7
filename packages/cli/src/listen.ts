import { lstat, unlink } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { connect } from 'node:net';

/** Where the server listens: a TCP host and port, or a unix socket path. */
export type ListenTarget =
  | { readonly kind: 'tcp'; readonly host: string | undefined; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** `http.addr` or `http.net` cannot be listened on; the message starts with the key. */
export class ListenAddressError extends Error {
  readonly code = 'LISTEN_ADDRESS_INVALID';
  constructor(
    readonly key: 'http.addr' | 'http.net',
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'ListenAddressError';
  }
}

const TCP_NETS = ['tcp', 'tcp4', 'tcp6'] as const;

/**
 * Parses distribution's `http.addr` / `http.net` pair. With `net` tcp (the default), tcp4 or tcp6
 * the address is `:PORT` (every interface), `HOST:PORT` or `[IPv6]:PORT`, port 0-65535 (0 lets the
 * system choose). With `net: unix` the address is the socket's file path.
 */
export function parseListenAddress(addr: string, net = 'tcp'): ListenTarget {
  const network = net === '' ? 'tcp' : net.toLowerCase();
  if (network === 'unix') {
    if (addr.trim() === '') throw new ListenAddressError('http.addr', 'a unix socket path is required with net: unix');
    return { kind: 'unix', path: addr };
  }
  if (!(TCP_NETS as readonly string[]).includes(network)) {
    throw new ListenAddressError('http.net', `must be one of tcp, tcp4, tcp6, unix, got ${JSON.stringify(net)}`);
  }
  const match = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  if (!match) {
    throw new ListenAddressError('http.addr', `must be :PORT, HOST:PORT or [IPv6]:PORT, got ${JSON.stringify(addr)}`);
  }
  const port = Number(match[3]);
  if (port > 65535) throw new ListenAddressError('http.addr', `port must be between 0 and 65535, got ${port}`);
  let host = match[1] ?? (match[2] === '' ? undefined : match[2]);
  if (host === undefined && network === 'tcp4') host = '0.0.0.0';
  if (host === undefined && network === 'tcp6') host = '::';
  return { kind: 'tcp', host, port };
}

/** A listening server's address as distribution prints it: `127.0.0.1:5000`, `[::]:5000`, `unix:/path`. */
export function formatAddress(address: string | AddressInfo | null): string {
  if (address === null) return 'unknown';
  if (typeof address === 'string') return `unix:${address}`;
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

/**
 * Starts `server` listening on `target`; resolves once it accepts connections. A unix socket file
 * left behind by a process that died is removed first; one that still answers is not touched
 * (listening then fails with EADDRINUSE).
 */
export async function listenOn(server: Server, target: ListenTarget): Promise<void> {
  if (target.kind === 'unix') await removeStaleSocket(target.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    if (target.kind === 'unix') server.listen(target.path);
    else if (target.host === undefined) server.listen(target.port);
    else server.listen(target.port, target.host);
  });
}

async function removeStaleSocket(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isSocket()) return;
  const alive = await new Promise<boolean>((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (!alive) await unlink(path).catch(() => undefined);
}
