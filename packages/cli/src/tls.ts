import { readFileSync } from 'node:fs';
import type { SecureVersion, TLSSocket } from 'node:tls';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from 'node:https';
import type { RequestListener } from 'node:http';
import type { TlsConfig } from '@berth/config';
import { ConfigError } from '@berth/config';

const TLS_VERSIONS: Readonly<Record<TlsConfig['minimumtls'], SecureVersion>> = {
  'tls1.0': 'TLSv1',
  'tls1.1': 'TLSv1.1',
  'tls1.2': 'TLSv1.2',
  'tls1.3': 'TLSv1.3',
};

/** True when `http.tls` asks for HTTPS (a certificate is configured). */
export function tlsEnabled(tls: TlsConfig): boolean {
  return tls.certificate !== '';
}

function readPem(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(key, `cannot read ${path}${code ? ` (${code})` : ''}`);
  }
}

/**
 * An HTTPS server for `http.tls`: `certificate` and `key` (PEM files), `minimumtls`, and client
 * certificates checked against `clientcas` as `clientauth` says (distribution's modes):
 * request-client-cert asks and accepts anything; require-any-client-cert needs some certificate;
 * verify-client-cert-if-given verifies one when sent; require-and-verify-client-cert (the default
 * with clientcas) needs one that verifies. A connection that fails its mode is closed after the
 * handshake. Unreadable files throw `ConfigError` naming the key.
 */
export function createTlsServer(tls: TlsConfig, handler: RequestListener): HttpsServer {
  if (tls.key === '') throw new ConfigError('http.tls.key', 'is required with http.tls.certificate');
  const options: ServerOptions = {
    cert: readPem('http.tls.certificate', tls.certificate),
    key: readPem('http.tls.key', tls.key),
    minVersion: TLS_VERSIONS[tls.minimumtls],
  };
  const mode = tls.clientcas.length > 0 ? (tls.clientauth ?? 'require-and-verify-client-cert') : undefined;
  if (mode) {
    options.ca = tls.clientcas.map((path, i) => readPem(`http.tls.clientcas.${i}`, path));
    options.requestCert = true;
    options.rejectUnauthorized = mode === 'require-and-verify-client-cert';
  }
  const server = createHttpsServer(options, handler);
  if (mode === 'require-any-client-cert' || mode === 'verify-client-cert-if-given') {
    server.on('secureConnection', (socket: TLSSocket) => {
      const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
      const refused = mode === 'require-any-client-cert' ? !presented : presented && !socket.authorized;
      if (refused) socket.destroy();
    });
  }
  return server;
}
