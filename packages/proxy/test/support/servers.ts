import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type AppOptions } from '@berth/api';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { silentLogger } from '@berth/logging';
import { ProxyCache, type ProxyCacheOptions } from '@berth/proxy';
import { Registry, type SharedMetadataCache } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';

/** One request a server received: method and path with query. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization?: string;
}

/** An HTTP server on loopback that records every request it receives. */
export interface RunningServer {
  readonly url: string;
  readonly hostPort: string;
  readonly requests: RecordedRequest[];
  /** Requests whose method is `method` and whose path matches `path`. */
  count(method: string, path: RegExp | string): number;
  /** Closes the listener and cuts every connection. Idempotent. */
  stop(): Promise<void>;
}

/** Serves `handler` on a free loopback port. */
export async function listen(handler: RequestListener): Promise<RunningServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res);
  });
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    requests,
    count: (method, path) =>
      requests.filter((r) => r.method === method && (typeof path === 'string' ? r.url.split('?')[0] === path : path.test(r.url))).length,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

/** Options of a test Berth: redirects off, a fixed secret. */
export function berthOptions(overrides: Partial<AppOptions> = {}): AppOptions {
  return {
    logger: silentLogger(),
    redirect: false,
    secret: 'proxy-test-secret',
    relativeUrls: false,
    ...overrides,
  };
}

/**
 * A test Berth over `driver`, deletes on: the API over one `Registry` (`registry`, else a new one,
 * the write policy of a pull-through cache when `overrides.pullThrough` is set).
 */
export function berthApp(driver: StorageDriver, overrides: Partial<AppOptions> = {}, registry?: Registry): ReturnType<typeof createApp> {
  const served = registry ?? new Registry({ driver, deleteEnabled: true, pullThrough: overrides.pullThrough !== undefined });
  return createApp(served, berthOptions(overrides));
}

/** A Berth (the real API over an in-memory driver) to act as the upstream. */
export async function startUpstream(overrides: Partial<AppOptions> = {}): Promise<RunningServer & { driver: StorageDriver }> {
  const driver = createInMemoryDriver();
  const app = berthApp(driver, overrides);
  return { ...(await listen(app)), driver };
}

export interface RunningMirror extends RunningServer {
  readonly driver: StorageDriver;
  readonly cache: ProxyCache;
}

/**
 * A Berth serving as a pull-through cache of `remoteUrl`, as the cli composes it: one `Registry`
 * over a driver (in-memory unless given) with the pull-through write policy and deletes off (the
 * default), a `ProxyCache` over
 * that registry, passed to the API as `pullThrough`. `stop` closes the cache too.
 */
export async function startMirror(
  remoteUrl: string,
  options: Partial<Omit<ProxyCacheOptions, 'remoteUrl' | 'registry'>> & { app?: Partial<AppOptions>; sharedCache?: SharedMetadataCache } = {},
): Promise<RunningMirror> {
  const { app: appOverrides, sharedCache, ...cacheOverrides } = options;
  const driver = options.driver ?? createInMemoryDriver();
  // storage.delete.enabled's default: the cache's expiry deletes all the same.
  const registry = new Registry({ driver, deleteEnabled: false, pullThrough: true, sharedCache });
  const cache = await ProxyCache.start({ ttlMs: 0, logger: silentLogger(), ...cacheOverrides, registry, driver, remoteUrl });
  const running = await listen(berthApp(driver, { pullThrough: cache, ...appOverrides }, registry));
  return {
    ...running,
    driver,
    cache,
    async stop() {
      await running.stop();
      await cache.close();
    },
  };
}
