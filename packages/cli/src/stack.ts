import { createServer as createHttpServer, ServerResponse, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { createApp, ERROR_TABLE, errorEnvelope } from '@berth/api';
import { uiAssets } from '@berth/ui';
import { ConfigError, type BerthConfig } from '@berth/config';
import type { Logger } from '@berth/logging';
import type { Notifier } from '@berth/notifications';
import type { ProxyCache } from '@berth/proxy';
import { Registry, type KeyedLock, type PolicyRule, type UploadHashCache, type UploadHashPeers } from '@berth/registry';
import type { DriverFactories, StorageDriver } from '@berth/storage-driver';
import { IdleMemoryRelease } from './idle-memory';
import { GracefulServer } from './lifecycle';
import type { Preflight } from './load';
import { Operations, type ProcessRole } from './operations';
import { openRedis, type RedisState } from './redis';
import { createTlsServer, type TlsSetup } from './tls';

/**
 * What every process that serves requests runs: the storage driver, the one `Registry` over it
 * (the HTTP API and the pull-through cache share it), the operations beside the API (metrics,
 * health check; in the main process also the debug server and upload purging), the webhook
 * notifier, the pull-through cache, and the HTTP(S) server with the application. The server does
 * not listen: connections are handed to `graceful`.
 */
export interface ServingStack {
  readonly driver: StorageDriver;
  readonly registry: Registry;
  readonly operations: Operations;
  readonly graceful: GracefulServer;
  /** Redis, when the configuration has a `redis` section. */
  readonly redis?: RedisState;
  /** Closes everything but the server (drain it first): operations, notifier, cache, then the driver. */
  close(): Promise<void>;
}

/**
 * The most request header bytes a server reads (above: 431). Node's default is 16 KiB; distribution
 * (Go's net/http) reads 1 MiB, and a long `Accept` list or upload `_state` is legitimate.
 */
export const MAX_HEADER_BYTES = 1024 * 1024;

/**
 * CONNECT asks for a tunnel, which a registry does not make: 405 UNSUPPORTED, then the connection
 * closes (node, with nobody listening for CONNECT, would close it without a word).
 */
function refuseConnect(req: IncomingMessage, duplex: Duplex): void {
  const socket = duplex as Socket;
  const body = Buffer.from(JSON.stringify(errorEnvelope('UNSUPPORTED', 'CONNECT is not supported: the registry is not a proxy')));
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.writeHead(ERROR_TABLE.UNSUPPORTED.status, {
    'Content-Type': 'application/json',
    'Content-Length': String(body.length),
    'Docker-Distribution-API-Version': 'registry/2.0',
  });
  res.end(body, () => {
    res.detachSocket(socket);
    socket.destroySoon();
  });
}

function createServerFor(tls: TlsSetup | undefined, handler: ReturnType<typeof createApp>): HttpServer | HttpsServer {
  const server = tls
    ? createTlsServer({ ...tls, options: { ...tls.options, maxHeaderSize: MAX_HEADER_BYTES } }, handler)
    : createHttpServer({ maxHeaderSize: MAX_HEADER_BYTES }, handler);
  // Blob uploads may legitimately take longer than node's default 5 minutes per request.
  server.requestTimeout = 0;
  server.on('connect', refuseConnect);
  return server;
}

/**
 * The notifier of `notifications` (webhooks), or undefined when no endpoint is enabled. Undelivered
 * events are spooled in `notifications.spooldir` (each process in a slot of its own);
 * `source.addr` is this host and `http.addr`'s port.
 */
async function startNotifications(config: BerthConfig, logger: Logger): Promise<Notifier | undefined> {
  const { notifications, http } = config;
  if (!notifications.endpoints.some((e) => !e.disabled)) return undefined;
  // Loaded only when configured, like the pull-through cache: each serving process saves their memory.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createNotifier } = require('@berth/notifications') as typeof import('@berth/notifications');
  const port = http.net === 'tcp' ? http.addr.slice(http.addr.lastIndexOf(':') + 1) : '';
  try {
    return await createNotifier({
      endpoints: notifications.endpoints,
      includeReferences: notifications.events.includereferences,
      spoolDir: notifications.spooldir,
      logger,
      sourceAddr: port ? `${hostname()}:${port}` : hostname(),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error;
    // A spool directory Berth cannot use is an operator's setting to fix (a read-only volume, a
    // default under a root this user may not write): one line naming the key, no stack.
    throw new ConfigError(
      'notifications.spooldir',
      `cannot use ${notifications.spooldir} (${code}): set notifications.spooldir to a directory this user can write, on a persistent volume`,
    );
  }
}

/**
 * The registry over `driver`: THE Registry of the process, with the write policy of the
 * configuration (`storage.delete`, `storage.maintenance.readonly`, `proxy.remoteurl`) and its limits.
 */
function buildRegistry(
  config: BerthConfig,
  driver: StorageDriver,
  logger: Logger,
  { uploadHashes, uploadHashPeers, uploadLocks }: StackOptions,
  redis: RedisState | undefined,
): Registry {
  return new Registry({
    driver,
    logger: logger.child({ component: 'registry' }),
    deleteEnabled: config.storage.delete.enabled,
    readOnly: config.storage.maintenance.readonly.enabled,
    pullThrough: config.proxy.remoteurl !== '',
    catalogMaxEntries: config.catalog.maxentries,
    maxTags: config.tags.maxtags,
    tagConcurrencyLimit: config.storage.tag.concurrencylimit,
    blobDescriptorCacheSize: config.storage.cache.blobdescriptor ? config.storage.cache.blobdescriptorsize : undefined,
    hashCache: uploadHashes,
    hashPeers: uploadHashPeers,
    uploadLocks,
    policies: policyRules(config),
    sharedCache: redis?.sharedCache,
  });
}

/** `policies` as the registry's rules. */
export function policyRules(config: BerthConfig): PolicyRule[] {
  return config.policies.map((p) => ({
    repositories: p.repositories,
    immutableTags: p.immutabletags,
    retention: {
      keepLast: p.retention.keeplast,
      keepTags: p.retention.keeptags,
      pushedWithinMs: p.retention.pushedwithin,
      untaggedOlderThanMs: p.retention.untaggedolderthan,
    },
    quota: p.quota,
  }));
}

/** The pull-through cache `proxy.remoteurl` asks for (its expiry schedule loaded), or undefined. */
async function startPullThrough(
  config: BerthConfig,
  registry: Registry,
  driver: StorageDriver,
  logger: Logger,
  redis: RedisState | undefined,
): Promise<ProxyCache | undefined> {
  if (config.proxy.remoteurl === '') return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ProxyCache } = require('@berth/proxy') as typeof import('@berth/proxy');
  const proxyLogger = logger.child({ component: 'proxy' });
  let shared: import('@berth/proxy').ProxyCacheOptions['shared'];
  if (redis) {
    // With redis the replicas share the expiry schedule and fetch each blob from the upstream once.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { RedisExpirySchedule, RedisFetchLocks } = require('@berth/redis') as typeof import('@berth/redis');
    shared = {
      schedule: new RedisExpirySchedule(redis.connection),
      fetchLocks: new RedisFetchLocks(redis.connection, { logger: proxyLogger }),
    };
  }
  return ProxyCache.start({
    shared,
    registry,
    driver,
    remoteUrl: config.proxy.remoteurl,
    username: config.proxy.username,
    password: config.proxy.password,
    ttlMs: config.proxy.ttl,
    logger: proxyLogger,
  });
}

/** Which process the stack serves in, and how it reaches the others (`http.workers` > 1). */
export interface StackOptions {
  readonly role: ProcessRole;
  /** This process's upload hash states, which the other processes may ask about. */
  readonly uploadHashes?: UploadHashCache;
  /** The other processes' upload hash states. */
  readonly uploadHashPeers?: UploadHashPeers;
  /** The upload session lock held across the host's processes (`http.workers` > 1). */
  readonly uploadLocks?: KeyedLock;
}

/**
 * The composition root of a serving process: creates the storage driver named by the
 * configuration, the one `Registry` over it, and everything on top of them. On failure after the
 * driver was created, what was started is closed before the error propagates.
 */
export async function openStack(config: BerthConfig, drivers: DriverFactories, logger: Logger, checked: Preflight, stackOptions: StackOptions): Promise<ServingStack> {
  const { role } = stackOptions;
  const operations = new Operations(config, logger, role);
  const driver: StorageDriver = await drivers.create(config.storage.driver, config.storage.parameters, {
    logger: logger.child({ component: 'storage', driver: config.storage.driver }),
    observe: operations.observeStorage,
  });
  let redis: RedisState | undefined;
  try {
    redis = await openRedis(config, logger);
  } catch (error) {
    await driver.close?.().catch(() => undefined);
    throw error;
  }
  const registry = buildRegistry(config, driver, logger, stackOptions, redis);
  if (redis) operations.watchRedis(() => redis.status());
  let notifier: Notifier | undefined;
  let pullThrough: ProxyCache | undefined;
  try {
    // The spool directory is the likeliest start-up failure: before anything logs that it started.
    notifier = await startNotifications(config, logger);
    await operations.start(driver);
    if (notifier) operations.metrics?.watchNotifications(notifier);
    // Storage usage is the same from every process: the main one exports it.
    if (role === 'main') operations.metrics?.watchUsage(registry);
    pullThrough = await startPullThrough(config, registry, driver, logger, redis);
    const app = createApp(registry, {
      ...operations.appOptions,
      logger: logger.child({ component: 'api' }),
      redirect: !config.storage.redirect.disable,
      secret: config.http.secret,
      host: config.http.host || undefined,
      relativeUrls: config.http.relativeurls,
      prefix: config.http.prefix,
      headers: Object.fromEntries(Object.entries(config.http.headers).map(([name, values]) => [name, [...values]])),
      auth: checked.auth,
      events: notifier,
      pullThrough,
      ui: config.ui.enabled ? uiAssets() : undefined,
    });
    const idleMemory = new IdleMemoryRelease(({ heldBefore, heldAfter, durationMs }) =>
      logger.debug('memory given back after a burst of requests', {
        heldMiB: Math.round(heldBefore / 2 ** 20),
        nowMiB: Math.round(heldAfter / 2 ** 20),
        pauseMs: Math.round(durationMs),
      }),
    );
    const graceful = new GracefulServer(createServerFor(checked.tls, app), idleMemory);
    const opened = { notifier, pullThrough };
    return {
      driver,
      registry,
      operations,
      graceful,
      redis,
      async close() {
        idleMemory.close();
        await operations.stop();
        // Requests have drained: no event comes after this; pending ones go to the spool.
        await opened.notifier?.close();
        // Saves the expiry schedule: before the driver goes.
        await opened.pullThrough?.close();
        await redis?.close();
        await driver.close?.();
      },
    };
  } catch (error) {
    await operations.stop().catch(() => undefined);
    await notifier?.close({ abort: true }).catch(() => undefined);
    await pullThrough?.close().catch(() => undefined);
    await redis?.close().catch(() => undefined);
    await driver.close?.().catch(() => undefined);
    throw error;
  }
}
