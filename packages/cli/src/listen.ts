import { lstat, unlink } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { connect } from 'node:net';

/** Where the server listens: a TCP host and port, or a unix socket path. */
export type ListenTarget =
  | { readonly kind: 'tcp'; readonly host: string | undefined; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** The keys naming where to listen: the registry's address and network, the debug server's address. */
export type ListenKey = 'http.addr' | 'http.net' | 'http.debug.addr';

/** `http.addr`, `http.net` or `http.debug.addr` cannot be listened on; the message starts with the key. */
export class ListenAddressError extends Error {
  readonly code = 'LISTEN_ADDRESS_INVALID';
  constructor(
    readonly key: ListenKey,
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
 * system choose). With `net: unix` the address is the socket's file path. Errors name `addrKey`.
 */
export function parseListenAddress(addr: string, net = 'tcp', addrKey: 'http.addr' | 'http.debug.addr' = 'http.addr'): ListenTarget {
  const network = net === '' ? 'tcp' : net.toLowerCase();
  if (network === 'unix') {
    if (addr.trim() === '') throw new ListenAddressError(addrKey, 'a unix socket path is required with net: unix');
    return { kind: 'unix', path: addr };
  }
  if (!(TCP_NETS as readonly string[]).includes(network)) {
    throw new ListenAddressError('http.net', `must be one of tcp, tcp4, tcp6, unix, got ${JSON.stringify(net)}`);
  }
  const match = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  if (!match) {
    throw new ListenAddressError(addrKey, `must be :PORT, HOST:PORT or [IPv6]:PORT, got ${JSON.stringify(addr)}`);
  }
  const port = Number(match[3]);
  if (port > 65535) throw new ListenAddressError(addrKey, `port must be between 0 and 65535, got ${port}`);
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

/** `target` as a person reads it: `127.0.0.1:5000`, `:5000` (every interface), `[::1]:5000`, `unix:/path`. */
export function describeTarget(target: ListenTarget): string {
  if (target.kind === 'unix') return `unix:${target.path}`;
  if (target.host === undefined) return `:${target.port}`;
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** Why listening on `target` failed, as an error naming `key` and the cause; other errors unchanged. */
function listenError(error: Error, target: ListenTarget, key: ListenKey): Error {
  const where = describeTarget(target);
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new ListenAddressError(key, `${where} is already in use (another process listens there)`);
    case 'EACCES':
      return new ListenAddressError(
        key,
        target.kind === 'unix'
          ? `permission denied creating the socket ${target.path}`
          : `permission denied listening on ${where} (ports below 1024 need root or CAP_NET_BIND_SERVICE)`,
      );
    case 'EADDRNOTAVAIL':
      return new ListenAddressError(key, `${where}: the host is not an address of this machine`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ListenAddressError(key, `${where}: the host name does not resolve`);
    case 'ENOENT':
      return new ListenAddressError(key, `${where}: the socket's directory does not exist`);
    default:
      return error;
  }
}

/**
 * Starts `server` listening on `target`; resolves once it accepts connections. A unix socket file
 * left behind by a process that died is removed first; one that still answers is not touched
 * (listening then fails with EADDRINUSE). A port in use, a privileged port or a foreign address is a
 * `ListenAddressError` naming `key` and the cause.
 */
export async function listenOn(server: Server, target: ListenTarget, key: ListenKey = 'http.addr'): Promise<void> {
  if (target.kind === 'unix') await removeStaleSocket(target.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(listenError(error, target, key));
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
