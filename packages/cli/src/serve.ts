import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { hostname } from 'node:os';
import { createApp } from '@berth/api';
import { ConfigError, redactConfig, type BerthConfig } from '@berth/config';
import { createLogger } from '@berth/logging';
import { createNotifier, type Notifier } from '@berth/notifications';
import { ProxyCache } from '@berth/proxy';
import type { DriverRegistry, Logger, StorageDriver } from '@berth/storage-driver';
import { startGcSchedule } from './gc-schedule';
import { GracefulServer, type ShutdownResult } from './lifecycle';
import { formatAddress, listenOn } from './listen';
import { describeSource, loadEffectiveConfig, preflight, type Preflight } from './load';
import { Operations } from './operations';
import { createTlsServer, type TlsSetup } from './tls';

/** A registry that is serving: its address, and how to stop it. */
export interface RunningRegistry {
  /** As printed in "listening on …": `127.0.0.1:5000`, `[::]:5000` or `unix:/path`. */
  readonly address: string;
  /** The debug server's address (`http.debug.addr`: health and metrics), when it runs. */
  readonly debugAddress?: string;
  /**
   * Stops accepting connections, waits up to `http.draintimeout` for requests in flight (0, the
   * default, cuts them at once, as distribution does without a drain timeout), then closes the
   * storage driver. Idempotent.
   */
  stop(): Promise<ShutdownResult>;
  /** Cuts a pending `stop` short: destroys every connection now. */
  forceStop(): void;
}

function createServerFor(tls: TlsSetup | undefined, handler: ReturnType<typeof createApp>): HttpServer | HttpsServer {
  const server = tls ? createTlsServer(tls, handler) : createHttpServer(handler);
  // Blob uploads may legitimately take longer than node's default 5 minutes per request.
  server.requestTimeout = 0;
  return server;
}

/**
 * The notifier of `notifications` (webhooks), or undefined when no endpoint is enabled. Undelivered
 * events are spooled in `notifications.spooldir`; `source.addr` is this host and `http.addr`'s port.
 */
async function startNotifications(config: BerthConfig, logger: Logger): Promise<Notifier | undefined> {
  const { notifications, http } = config;
  if (!notifications.endpoints.some((e) => !e.disabled)) return undefined;
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

/** The pull-through cache `proxy.remoteurl` asks for (its expiry schedule loaded), or undefined. */
async function startPullThrough(config: BerthConfig, driver: StorageDriver, logger: Logger): Promise<ProxyCache | undefined> {
  if (config.proxy.remoteurl === '') return undefined;
  return ProxyCache.start({
    driver,
    remoteUrl: config.proxy.remoteurl,
    username: config.proxy.username,
    password: config.proxy.password,
    ttlMs: config.proxy.ttl,
    logger: logger.child({ component: 'proxy' }),
  });
}

/**
 * Composition root: creates the storage driver named by the configuration, the HTTP application
 * on top of it, and starts listening on `http.addr`. On failure after the driver was created the
 * driver is closed before the error propagates. Warnings are the caller's to log (`preflight`).
 */
export async function startRegistry(
  config: BerthConfig,
  drivers: DriverRegistry,
  logger: Logger,
  checked: Preflight = preflight(config),
): Promise<RunningRegistry> {
  const { target, tls } = checked;
  const operations = new Operations(config, logger);
  const driver: StorageDriver = await drivers.create(config.storage.driver, config.storage.parameters, {
    logger: logger.child({ component: 'storage', driver: config.storage.driver }),
    observe: operations.observeStorage,
  });
  let graceful: GracefulServer;
  let notifier: Notifier | undefined;
  let pullThrough: ProxyCache | undefined;
  try {
    // The spool directory is the likeliest start-up failure: before anything logs that it started.
    notifier = await startNotifications(config, logger);
    await operations.start(driver);
    if (notifier) operations.metrics?.watchNotifications(notifier);
    pullThrough = await startPullThrough(config, driver, logger);
    const app = createApp({
      ...operations.appOptions,
      driver,
      logger: logger.child({ component: 'api' }),
      deleteEnabled: config.storage.delete.enabled,
      readOnly: config.storage.maintenance.readonly.enabled,
      redirect: !config.storage.redirect.disable,
      secret: config.http.secret,
      host: config.http.host || undefined,
      relativeUrls: config.http.relativeurls,
      prefix: config.http.prefix,
      headers: Object.fromEntries(Object.entries(config.http.headers).map(([name, values]) => [name, [...values]])),
      catalogMaxEntries: config.catalog.maxentries,
      auth: checked.auth,
      events: notifier,
      pullThrough,
    });
    graceful = new GracefulServer(createServerFor(tls, app));
    await listenOn(graceful.server, target);
  } catch (error) {
    await operations.stop().catch(() => undefined);
    await notifier?.close({ abort: true }).catch(() => undefined);
    await pullThrough?.close().catch(() => undefined);
    await driver.close?.().catch(() => undefined);
    throw error;
  }
  const gcSchedule = startGcSchedule(config, driver, logger);
  const address = formatAddress(graceful.server.address());
  let stopping: Promise<ShutdownResult> | undefined;
  return {
    address,
    debugAddress: operations.debugAddress,
    stop() {
      stopping ??= (async () => {
        const result = await graceful.shutdown(config.http.draintimeout);
        // A collection in progress puts back what it holds before the driver closes.
        await gcSchedule?.stop();
        await operations.stop();
        // Requests have drained: no event comes after this; pending ones go to the spool.
        await notifier?.close();
        // Saves the expiry schedule: before the driver goes.
        await pullThrough?.close();
        await driver.close?.();
        return result;
      })();
      return stopping;
    },
    forceStop: () => graceful.forceNow(),
  };
}

/**
 * SIGTERM and SIGINT, caught from the moment it is called: `first` resolves with the first one (even
 * when it came during start-up), later ones go to `onRepeat`.
 */
function catchSignals(): { first: Promise<NodeJS.Signals>; onRepeat(listener: (signal: NodeJS.Signals) => void): void } {
  let repeat: ((signal: NodeJS.Signals) => void) | undefined;
  let received = false;
  let resolveFirst!: (signal: NodeJS.Signals) => void;
  const first = new Promise<NodeJS.Signals>((resolve) => (resolveFirst = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) repeat?.(signal);
    else {
      received = true;
      resolveFirst(signal);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return { first, onRepeat: (listener) => void (repeat = listener) };
}

/**
 * `berth serve [config]`: loads the configuration, serves until SIGTERM or SIGINT, then shuts down
 * gracefully. Resolves with the exit code: 0 after a clean stop, 1 when closing the driver failed.
 * A second signal cuts the drain short.
 */
export async function runServe(argument: string | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  const signals = catchSignals();
  const { config, source, drivers } = loadEffectiveConfig(argument, env);
  const checked = preflight(config);
  const logger = createLogger({ level: config.log.level, formatter: config.log.formatter, fields: config.log.fields });
  const { warnings: _logged, ...effective } = redactConfig(config, drivers) as { warnings: unknown } & Record<string, unknown>;
  logger.debug('effective configuration', { source: describeSource(source), config: effective });
  for (const warning of checked.warnings) logger.warn(warning);

  const registry = await startRegistry(config, drivers, logger, checked);
  logger.info(`listening on ${registry.address}`, { driver: config.storage.driver });

  const signal = await signals.first;
  logger.info(`received ${signal}: shutting down`, { draintimeoutMs: config.http.draintimeout });
  signals.onRepeat((again) => {
    logger.warn(`received ${again} again: closing every connection now`);
    registry.forceStop();
  });
  try {
    const result = await registry.stop();
    logger.info('stopped', { durationMs: Math.round(result.durationMs), forced: result.forced });
    return 0;
  } catch (error) {
    logger.error('error while stopping', { error: error instanceof Error ? error.message : String(error) });
    return 1;
  }
}
