import type { AppOptions } from '@berth/api';
import type { BerthConfig } from '@berth/config';
import { UploadPurgeScheduler } from '@berth/registry';
import type { DriverOperation, Logger, StorageDriver } from '@berth/storage-driver';
import { startDebugServer, type RunningDebugServer } from './debug-server';
import { HealthChecks, PeriodicCheck, storageDriverCheck } from './health';
import type { RedisStatusLike } from './metrics-redis';
import { RegistryMetrics } from './metrics';

/**
 * `main`: the process that listens (or the only one); `helper`: a process it hands connections to
 * (`http.workers` > 1). Helpers keep their own metrics and health check, but the debug server (which
 * reports every process's metrics) and upload purging run in the main process only.
 */
export type ProcessRole = 'main' | 'helper';

/**
 * What `serve` runs beside the API, from the configuration: Prometheus metrics
 * (`http.debug.prometheus`), the storage health check (`health.storagedriver`), the debug server
 * (`http.debug.addr`) and upload purging (`storage.maintenance.uploadpurging`, never in read-only
 * mode). Create it before the driver (`observeStorage` goes into the driver's context), `start` it
 * once the driver exists, spread `appOptions` into `createApp`, and `stop` it before closing the driver.
 */
export class Operations {
  /** Set when `http.debug.prometheus.enabled` (metrics are only served by the debug server). */
  readonly metrics: RegistryMetrics | undefined;
  private readonly health = new HealthChecks();
  private storageCheck: PeriodicCheck | undefined;
  private purger: UploadPurgeScheduler | undefined;
  private debugServer: RunningDebugServer | undefined;
  private redisCheck: PeriodicCheck | undefined;

  constructor(
    private readonly config: BerthConfig,
    private readonly logger: Logger,
    private readonly role: ProcessRole = 'main',
  ) {
    const debug = config.http.debug;
    this.metrics = debug.addr !== '' && debug.prometheus.enabled ? new RegistryMetrics() : undefined;
    if (debug.addr === '' && debug.prometheus.enabled && role === 'main') {
      logger.warn('http.debug.prometheus.enabled has no effect without http.debug.addr: metrics are served by the debug server');
    }
  }

  /** For `DriverContext.observe`, or undefined without metrics. */
  get observeStorage(): ((operation: DriverOperation) => void) | undefined {
    return this.metrics?.observeStorage;
  }

  /** The debug server's address once started (`127.0.0.1:5001`), or undefined when there is none. */
  get debugAddress(): string | undefined {
    return this.debugServer?.address;
  }

  /** The `createApp` options these operations decide. Valid after `start`. */
  get appOptions(): Pick<AppOptions, 'accessLogDisabled' | 'observer' | 'storageHealthy'> {
    const check = this.storageCheck;
    return {
      accessLogDisabled: this.config.log.accesslog.disabled,
      observer: this.metrics?.requestObserver,
      storageHealthy: check ? () => check.healthy : undefined,
    };
  }

  /**
   * Reports Redis in `/debug/health` (check `redis`, failing while the connection is down or the
   * shared cache cannot be used) and in the metrics. Call before `start`. API requests do not turn
   * 503 for it: they fall back to storage.
   */
  watchRedis(status: () => { readonly connected: boolean; readonly usable: boolean; readonly lastError: string; readonly hasCache: boolean } & Omit<RedisStatusLike, 'connected' | 'usable'>): void {
    this.metrics?.watchRedis(status);
    this.redisCheck = new PeriodicCheck(
      'redis',
      async () => {
        const s = status();
        if (!s.connected) throw new Error(`not connected${s.lastError ? `: ${s.lastError}` : ''}; requests use storage`);
        if (s.hasCache && !s.usable) throw new Error('the shared cache is not in use (epoch renewal or invalidation pending); requests use storage');
      },
      {
        intervalMs: Math.min(this.config.health.storagedriver.interval, 5_000),
        threshold: 1,
        logger: this.logger.child({ component: 'health' }),
        onChange: (healthy) => this.metrics?.setHealth('redis', healthy),
      },
    );
  }

  /** Starts the health check, the debug server and the purge schedule for `driver`. */
  async start(driver: StorageDriver): Promise<void> {
    const { health, http, storage } = this.config;
    if (health.storagedriver.enabled) {
      const name = `storagedriver_${driver.name}`;
      this.storageCheck = new PeriodicCheck(name, storageDriverCheck(driver), {
        intervalMs: health.storagedriver.interval,
        threshold: health.storagedriver.threshold,
        logger: this.logger.child({ component: 'health' }),
        onChange: (healthy) => this.metrics?.setHealth(name, healthy),
      });
      this.health.add(this.storageCheck);
    }
    if (this.redisCheck) this.health.add(this.redisCheck, { advisory: true });
    this.health.start();
    if (this.role === 'helper') return;
    if (http.debug.addr !== '') {
      const prometheus = this.metrics ? { path: http.debug.prometheus.path, metrics: this.metrics } : undefined;
      this.debugServer = await startDebugServer(http.debug.addr, { health: this.health, prometheus, logger: this.logger });
      // Not "listening on": that phrase names the registry's own address in the log.
      this.logger.info(`debug server at ${this.debugServer.address}`, {
        health: '/debug/health',
        ...(prometheus ? { metrics: prometheus.path } : {}),
      });
    }
    const purging = storage.maintenance.uploadpurging;
    if (purging.enabled && !storage.maintenance.readonly.enabled) {
      this.purger = new UploadPurgeScheduler(driver, {
        ageMs: purging.age,
        intervalMs: purging.interval,
        dryRun: purging.dryrun,
        logger: this.logger.child({ component: 'uploadpurging' }),
        onRun: this.metrics?.recordPurge,
      });
      this.purger.start();
    }
  }

  /** Stops the purge schedule (interrupting a run), the health check and the debug server. */
  async stop(): Promise<void> {
    await Promise.all([this.purger?.stop(), this.health.stop(), this.debugServer?.close()]);
  }
}
