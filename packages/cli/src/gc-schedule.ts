import type { BerthConfig } from '@berth/config';
import { GcScheduler, type GcScheduleOptions, type SharedMetadataCache } from '@berth/registry';
import type { Logger, StorageDriver } from '@berth/storage-driver';

/**
 * Starts the garbage collection schedule of `storage.gc` when `interval` is positive and the
 * registry is not read-only (the loader already turns the interval off there); undefined otherwise.
 * Each run logs its summary line; `stop` interrupts a run in progress, which puts back what it held.
 */
export function startGcSchedule(
  config: BerthConfig,
  driver: StorageDriver,
  logger: Logger,
  redis?: { readonly sharedCache?: SharedMetadataCache; readonly lease: GcScheduleOptions['lease'] },
): GcScheduler | undefined {
  const sharedCache = redis?.sharedCache;
  const gc = config.storage.gc;
  if (!(gc.interval > 0) || config.storage.maintenance.readonly.enabled) return undefined;
  const scheduler = new GcScheduler(driver, {
    intervalMs: gc.interval,
    gracePeriodMs: gc.graceperiod,
    settleMs: gc.settle,
    deleteUntagged: gc.deleteuntagged,
    dryRun: gc.dryrun,
    logger,
    // Swept content must not be served from the replicas' shared cache.
    invalidate: sharedCache ? () => sharedCache.invalidateAll() : undefined,
    // One collection at a time across the replicas (redis configured): the others skip their turn.
    lease: redis?.lease,
  });
  scheduler.start();
  return scheduler;
}
