import { redactConfig, type BerthConfig } from '@berth/config';
import { createLogger } from '@berth/logging';
import { UploadHashCache } from '@berth/registry';
import type { DriverFactories, Logger } from '@berth/storage-driver';
import { startGcSchedule } from './gc-schedule';
import type { ShutdownResult } from './lifecycle';
import { formatAddress, listenOn } from './listen';
import { attributeToSource, describeSource, loadEffectiveConfig, preflight, type Preflight } from './load';
import { HelperPool } from './processes/pool';
import { ConnectionRouter } from './router';
import { openStack } from './stack';
import { startupLine } from './startup';

/** A registry that is serving: its address, and how to stop it. */
export interface RunningRegistry {
  /** As printed in "listening on …": `127.0.0.1:5000`, `[::]:5000` or `unix:/path`. */
  readonly address: string;
  /** The debug server's address (`http.debug.addr`: health and metrics), when it runs. */
  readonly debugAddress?: string;
  /**
   * Stops accepting connections, waits up to `http.draintimeout` for requests in flight in every
   * process (0, the default, cuts them at once, as distribution does without a drain timeout),
   * then closes the storage driver. Idempotent.
   */
  stop(): Promise<ShutdownResult>;
  /** Cuts a pending `stop` short: destroys every connection now. */
  forceStop(): void;
}

/**
 * Composition root: opens the serving stack (storage driver, application, operations) in this
 * process, starts `http.workers` − 1 helper processes that open the same stack, and listens on
 * `http.addr`, dealing connections out to all of them. The garbage collection schedule runs here
 * only. On a start-up failure whatever was started is closed before the error propagates.
 * Warnings are the caller's to log (`preflight`).
 */
export async function startRegistry(
  config: BerthConfig,
  drivers: DriverFactories,
  logger: Logger,
  checked: Preflight = preflight(config),
): Promise<RunningRegistry> {
  const uploadHashes = new UploadHashCache();
  const helpers = config.http.workers > 1 ? new HelperPool(config.http.workers - 1, config, logger, uploadHashes) : undefined;
  const stack = await openStack(config, drivers, logger, checked, {
    role: 'main',
    uploadHashes,
    uploadHashPeers: helpers,
    uploadLocks: helpers?.uploadLocks,
  });
  const router = new ConnectionRouter(stack.graceful, () => helpers?.ready() ?? []);
  try {
    if (helpers) {
      await helpers.start();
      stack.operations.metrics?.includePeers(() => helpers.metrics());
    }
    await listenOn(router.server, checked.target);
  } catch (error) {
    await helpers?.stop(0).catch(() => undefined);
    await stack.close().catch(() => undefined);
    throw error;
  }
  const gcSchedule = startGcSchedule(config, stack.driver, logger, stack.registry);
  const address = formatAddress(router.server.address());
  let stopping: Promise<ShutdownResult> | undefined;
  return {
    address,
    debugAddress: stack.operations.debugAddress,
    stop() {
      stopping ??= (async () => {
        router.close();
        const [result, helpersForced] = await Promise.all([stack.graceful.shutdown(config.http.draintimeout), helpers?.stop(config.http.draintimeout)]);
        // A collection in progress puts back what it holds before the driver closes.
        await gcSchedule?.stop();
        await stack.close();
        return { ...result, forced: result.forced || helpersForced === true };
      })();
      return stopping;
    },
    forceStop: () => {
      stack.graceful.forceNow();
      helpers?.force();
    },
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
  let registry: RunningRegistry;
  const logger = createLogger({ level: config.log.level, formatter: config.log.formatter, fields: config.log.fields });
  try {
    const checked = preflight(config);
    const { warnings: _logged, ...effective } = redactConfig(config, drivers) as { warnings: unknown } & Record<string, unknown>;
    logger.debug('effective configuration', { source: describeSource(source), config: effective });
    for (const warning of checked.warnings) logger.warn(warning);
    registry = await startRegistry(config, drivers, logger, checked);
  } catch (error) {
    throw attributeToSource(source, error);
  }
  const started = startupLine(config, source, registry.address);
  logger.info(started.message, started.fields);

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
