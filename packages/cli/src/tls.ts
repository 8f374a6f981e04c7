import { readFileSync } from 'node:fs';
import type { SecureVersion, TLSSocket } from 'node:tls';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from 'node:https';
import type { RequestListener } from 'node:http';
import type { ClientAuthMode, TlsConfig } from '@berth/config';
import { ConfigError } from '@berth/config';

const TLS_VERSIONS: Readonly<Record<TlsConfig['minimumtls'], SecureVersion>> = {
  'tls1.0': 'TLSv1',
  'tls1.1': 'TLSv1.1',
  'tls1.2': 'TLSv1.2',
  'tls1.3': 'TLSv1.3',
};

/** Why a file cannot be read, in words. */
const READ_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
};

function readPem(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new ConfigError(key, `cannot read ${path}: ${READ_FAILURES[code] ?? (code || (error as Error).message)}`);
  }
}

/** `http.tls` with its PEM files read: what `createTlsServer` needs. */
export interface TlsSetup {
  readonly options: ServerOptions;
  /** How client certificates are checked; undefined when none are requested. */
  readonly clientAuth?: ClientAuthMode;
}

/**
 * Reads `http.tls` when a certificate is configured (else undefined): `certificate` and `key` (PEM
 * files), `minimumtls`, and `clientcas` with distribution's `clientauth` mode (default
 * require-and-verify-client-cert when clientcas is set). Throws `ConfigError` naming the key of a
 * missing or unreadable file.
 */
export function loadTls(tls: TlsConfig): TlsSetup | undefined {
  if (tls.certificate === '') return undefined;
  if (tls.key === '') throw new ConfigError('http.tls.key', 'is required with http.tls.certificate');
  const options: ServerOptions = {
    cert: readPem('http.tls.certificate', tls.certificate),
    key: readPem('http.tls.key', tls.key),
    minVersion: TLS_VERSIONS[tls.minimumtls],
  };
  if (tls.clientcas.length === 0) return { options };
  const clientAuth = tls.clientauth ?? 'require-and-verify-client-cert';
  options.ca = tls.clientcas.map((path, i) => readPem(`http.tls.clientcas.${i}`, path));
  options.requestCert = true;
  options.rejectUnauthorized = clientAuth === 'require-and-verify-client-cert';
  return { options, clientAuth };
}

/**
 * An HTTPS server. Client certificates per distribution's modes: request-client-cert asks and
 * accepts anything; require-any-client-cert needs some certificate; verify-client-cert-if-given
 * verifies one when sent; require-and-verify-client-cert needs one that verifies. A connection that
 * fails its mode is closed right after the handshake.
 */
export function createTlsServer(setup: TlsSetup, handler: RequestListener): HttpsServer {
  const server = createHttpsServer(setup.options, handler);
  const mode = setup.clientAuth;
  if (mode === 'require-any-client-cert' || mode === 'verify-client-cert-if-given') {
    server.on('secureConnection', (socket: TLSSocket) => {
      const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
      const refused = mode === 'require-any-client-cert' ? !presented : presented && !socket.authorized;
      if (refused) socket.destroy();
    });
  }
  return server;
}
