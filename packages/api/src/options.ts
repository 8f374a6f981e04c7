import { randomBytes } from 'node:crypto';
import type { Logger } from '@berth/logging';
import type { PullThroughCache } from '@berth/registry';
import type { RequestObserver } from './access-log';
import type { Authenticator } from './auth/types';
import type { RegistryEventListener } from './event-types';
import type { UiAssets } from './ui/pages';

/**
 * What `createApp` needs besides the `Registry` (which holds the storage, the write policy and the
 * limits); the cli builds both from config.yml.
 */
export interface AppOptions {
  /** The root logger (from @berth/logging); the app takes children of it. */
  logger: Logger;
  /** !storage.redirect.disable: a blob GET/HEAD answers 307 to the driver's redirect URL when it has one. */
  redirect: boolean;
  /** http.secret: HMAC key of the upload `_state`, the same on every replica. */
  secret: string;
  /** http.host: absolute base URL of Location headers (`https://registry.example.com`). */
  host?: string;
  /** http.relativeurls: Location headers without scheme and host. */
  relativeUrls: boolean;
  /** http.prefix: path prefix of every route (`/my/prefix/`). */
  prefix?: string;
  /** http.headers: added to every response. */
  headers?: Record<string, string[]>;
  /** `auth`: who may do what (`createAuthenticator`); without it every request is served anonymously. */
  auth?: Authenticator;
  /** Told of every successful push, pull, mount and delete (notifications); none when absent. */
  events?: RegistryEventListener;
  /** `log.accesslog.disabled`: no access log line per request. */
  accessLogDisabled?: boolean;
  /** Told of every request when it arrives and when it is done (metrics); see `RequestObserver`. */
  observer?: RequestObserver;
  /**
   * The storage health check (`health.storagedriver`): while it answers false, every API request
   * that needs storage (all but `GET /v2/`) answers 503 UNAVAILABLE.
   */
  storageHealthy?: () => boolean;
  /**
   * `proxy.remoteurl`: the registry is a pull-through cache. Manifests and blobs it does not hold
   * are asked from this (`@berth/proxy`, over the same `Registry`, built with `pullThrough: true`
   * so that clients' writes are refused).
   */
  pullThrough?: PullThroughCache;
  /**
   * `ui.enabled`: the web UI's files (`@berth/ui`), served at `<prefix>/ui/` with its JSON API at
   * `<prefix>/ui/api/`; without it neither exists (404).
   */
  ui?: UiAssets;
}

/** Options after defaults and normalisation. */
export interface ResolvedOptions extends Omit<AppOptions, 'prefix' | 'secret' | 'host'> {
  /** `''` or `/a/b` (no trailing slash). */
  readonly prefix: string;
  readonly secret: string;
  /** Without trailing slash, or undefined. */
  readonly host?: string;
}

/** Normalises the prefix and host; a missing secret is replaced by a random one (single instance only). */
export function resolveOptions(options: AppOptions): ResolvedOptions {
  const trimmed = (options.prefix ?? '').replace(/\/+$/, '');
  const prefix = trimmed === '' ? '' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
  let secret = options.secret;
  if (!secret) {
    secret = randomBytes(32).toString('hex');
    options.logger.warn('http.secret is not set: using a random one, so upload Locations only work on this instance');
  }
  return { ...options, prefix, secret, host: options.host ? options.host.replace(/\/+$/, '') : undefined };
}
