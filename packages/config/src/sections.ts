import { randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, joinKey } from './errors';
import type { HttpConfig, NotificationEndpoint, NotificationsConfig, ProxyConfig, StorageConfig } from './types';

/**
 * Rules that span several keys or give a zero value a meaning, applied after the type checks. They
 * follow distribution's run-time behaviour (`registry/registry.go`, `handlers/app.go`,
 * `notifications/endpoint.go`) and fail at load where distribution would fail later.
 */

/** HTTP header field names (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The same structure, writable: the section as resolve.ts produced it, before these rules. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

export function httpOf(resolved: Record<string, unknown>, warnings: string[]): HttpConfig {
  const http = resolved as unknown as Mutable<HttpConfig>;
  if (http.net === 'tcp' && !isHostPort(http.addr)) {
    throw new ConfigError('http.addr', `must be HOST:PORT such as :5000 or 127.0.0.1:5000, got ${JSON.stringify(http.addr)}`);
  }
  if (http.net === 'unix' && http.addr === '') throw new ConfigError('http.addr', 'must be the socket path when http.net is unix');
  if (http.prefix !== '' && !(http.prefix.startsWith('/') && http.prefix.endsWith('/'))) {
    throw new ConfigError('http.prefix', `must start and end with a slash, such as /registry/, got ${JSON.stringify(http.prefix)}`);
  }
  if (http.host !== '') checkUrl('http.host', http.host);
  if (http.secret === '') {
    http.secret = randomBytes(32).toString('base64url');
    warnings.push(
      'http.secret is not set: generated a random secret for this process; registries behind a load balancer must share one http.secret (or REGISTRY_HTTP_SECRET)',
    );
  }
  for (const name of Object.keys(http.headers)) {
    if (!HEADER_NAME.test(name)) throw new ConfigError(joinKey('http.headers', name), 'is not a valid HTTP header name');
  }
  const tls = http.tls;
  if (tls.certificate !== '' && tls.key === '') throw new ConfigError('http.tls.key', 'is required when http.tls.certificate is set');
  if (tls.key !== '' && tls.certificate === '') throw new ConfigError('http.tls.certificate', 'is required when http.tls.key is set');
  if (tls.clientcas.length > 0) {
    tls.clientauth ??= 'require-and-verify-client-cert';
    if (tls.certificate === '') warnings.push('http.tls.clientcas is set but TLS is not configured (http.tls.certificate): ignored');
  } else if (tls.clientauth !== undefined) {
    warnings.push('http.tls.clientauth is set without http.tls.clientcas: client certificates are not requested');
    delete tls.clientauth;
  }
  if (!http.debug.prometheus.path.startsWith('/')) {
    throw new ConfigError('http.debug.prometheus.path', `must start with a slash, got ${JSON.stringify(http.debug.prometheus.path)}`);
  }
  if (http.debug.addr !== '' && !isHostPort(http.debug.addr)) {
    throw new ConfigError('http.debug.addr', `must be HOST:PORT such as :5001, got ${JSON.stringify(http.debug.addr)}`);
  }
  return http;
}

export function notificationsOf(resolved: Record<string, unknown>, storage: StorageConfig, warnings: string[]): NotificationsConfig {
  const notifications = resolved as unknown as Mutable<NotificationsConfig>;
  const names = new Set<string>();
  notifications.endpoints.forEach((e: Mutable<NotificationEndpoint>, i: number) => {
    const key = `notifications.endpoints.${i}`;
    if (e.name === '') throw new ConfigError(`${key}.name`, 'is required (a name for the endpoint)');
    // Berth spools each endpoint's events under its name.
    if (names.has(e.name)) throw new ConfigError(`${key}.name`, `must be unique: another endpoint is named ${JSON.stringify(e.name)}`);
    names.add(e.name);
    if (e.url === '') {
      if (!e.disabled) throw new ConfigError(`${key}.url`, 'is required (where events are POSTed)');
    } else checkUrl(`${key}.url`, e.url);
    for (const name of Object.keys(e.headers)) {
      if (!HEADER_NAME.test(name)) throw new ConfigError(joinKey(`${key}.headers`, name), 'is not a valid HTTP header name');
    }
    // notifications/endpoint.go: zero (or negative) means the default.
    if (e.timeout <= 0) e.timeout = 1000;
    if (e.threshold <= 0) e.threshold = 10;
    if (e.backoff <= 0) e.backoff = 1000;
    if (e.maxpending <= 0) e.maxpending = 10000;
  });
  if (notifications.spooldir !== '') notifications.spooldir = resolve(notifications.spooldir);
  else if (storage.driver === 'filesystem') {
    const root = storage.parameters.rootdirectory;
    notifications.spooldir = resolve(typeof root === 'string' && root !== '' ? root : '/var/lib/registry', 'berth', 'notifications');
  } else {
    notifications.spooldir = join(tmpdir(), 'berth-notifications');
    if (notifications.endpoints.some((e) => !e.disabled)) {
      warnings.push(
        `notifications.spooldir is not set: undelivered events are spooled in ${notifications.spooldir}, which survives a restart of the process but not the loss of the machine or container; set it to a persistent volume`,
      );
    }
  }
  return notifications;
}

export function proxyOf(resolved: Record<string, unknown>, warnings: string[]): ProxyConfig {
  const proxy = resolved as unknown as ProxyConfig;
  if (proxy.remoteurl !== '') checkUrl('proxy.remoteurl', proxy.remoteurl);
  else if (proxy.username !== '' || proxy.password !== '') {
    warnings.push('proxy.username/proxy.password are set without proxy.remoteurl: the registry is not a pull-through cache');
  }
  return proxy;
}

/** The most processes `http.workers: 0` starts; more can be asked for explicitly. */
export const AUTO_WORKERS_MAX = 8;
/** The most processes `http.workers` accepts. */
export const WORKERS_MAX = 64;

/**
 * `http.workers` resolved: 0 means one process per CPU (at most `AUTO_WORKERS_MAX`). Storage or
 * state that lives inside one process (the inmemory driver, the pull-through cache's expiry
 * schedule without Redis) needs exactly one: 0 then means 1, and more is refused. With `redis`
 * the pull-through cache's schedule and blob fetches are shared through Redis: any number.
 */
export function workersOf(requested: number, storage: StorageConfig, proxy: ProxyConfig, redisConfigured = false): number {
  if (requested > WORKERS_MAX) throw new ConfigError('http.workers', `must be at most ${WORKERS_MAX}, got ${requested}`);
  const oneProcessOnly =
    storage.driver === 'inmemory'
      ? 'the inmemory driver keeps content inside one process'
      : proxy.remoteurl !== '' && !redisConfigured
        ? 'a pull-through cache (proxy.remoteurl) without redis keeps its expiry schedule inside one process'
        : undefined;
  if (oneProcessOnly !== undefined) {
    if (requested > 1) throw new ConfigError('http.workers', `must be 0 or 1: ${oneProcessOnly}, got ${requested}`);
    return 1;
  }
  return requested > 0 ? requested : Math.min(availableParallelism(), AUTO_WORKERS_MAX);
}

/** `HOST:PORT` with a port in 0-65535; HOST may be empty, a name, an IPv4 or a [bracketed] IPv6. */
function isHostPort(addr: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.%\w]+\]|[^:[\]\s]*):(\d{1,5})$/.exec(addr);
  return m !== null && Number(m[2]) <= 65535;
}

function checkUrl(key: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The value is not echoed: URLs may carry credentials (https://user:password@host).
    throw new ConfigError(key, 'must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(key, `must be an http:// or https:// URL, not ${url.protocol}`);
}
