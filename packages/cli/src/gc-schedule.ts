import type { BerthConfig } from '@berth/config';
import { GcScheduler, type Registry } from '@berth/registry';
import type { Logger, StorageDriver } from '@berth/storage-driver';

/**
 * Starts the garbage collection schedule of `storage.gc` when `interval` is positive and the
 * registry is not read-only (the loader already turns the interval off there); undefined otherwise.
 * With `registry` and retention rules in `policies`, each job applies retention first (with
 * `storage.gc.dryrun`, as a dry run), so that the collection returns the space it freed.
 * Each run logs its summary line; `stop` interrupts a run in progress, which puts back what it held.
 */
export function startGcSchedule(config: BerthConfig, driver: StorageDriver, logger: Logger, registry?: Registry): GcScheduler | undefined {
  const gc = config.storage.gc;
  if (!(gc.interval > 0) || config.storage.maintenance.readonly.enabled) return undefined;
  const retains = config.policies.some(
    (p) => p.retention.keeplast !== undefined || p.retention.keeptags.length > 0 || p.retention.pushedwithin !== undefined || p.retention.untaggedolderthan !== undefined,
  );
  const retentionLogger = logger.child({ component: 'retention' });
  const beforeCollect =
    registry && retains
      ? async (signal: AbortSignal): Promise<void> => {
          const report = await registry.retention({ dryRun: gc.dryrun, signal, logger: retentionLogger });
          const summary = { repositories: report.repositories.length, tagsDeleted: report.tagsDeleted, manifestsDeleted: report.manifestsDeleted, errors: report.errors, dryRun: report.dryRun };
          if (report.errors > 0) retentionLogger.warn('retention finished with errors', summary);
          else retentionLogger.info('retention finished', summary);
        }
      : undefined;
  const scheduler = new GcScheduler(driver, {
    intervalMs: gc.interval,
    gracePeriodMs: gc.graceperiod,
    settleMs: gc.settle,
    deleteUntagged: gc.deleteuntagged,
    dryRun: gc.dryrun,
    logger,
    beforeCollect,
  });
  scheduler.start();
  return scheduler;
}
