import { parseGoDurationNs } from '@berth/config';
import { createLogger } from '@berth/logging';
import { collectGarbage, formatBytes, summarizeReport, type GarbageCollectReport } from '@berth/registry';
import { InvalidArgumentError } from 'commander';
import { GcProgress } from './gc-progress';
import { attributeToSource, describeSource, loadEffectiveConfig } from './load';
import { GC_LEASE_HELD_EXIT_CODE, openRedis, takeGcLease, type RedisState } from './redis';

/** The options of `berth garbage-collect`. */
export interface GarbageCollectFlags {
  readonly dryRun?: boolean;
  readonly deleteUntagged?: boolean;
  /** Milliseconds, from `--grace-period` (parsed by `parseGracePeriod`). */
  readonly gracePeriod?: number;
}

/** Commander's parser for `--grace-period`: a non-negative Go duration (`30m`, `1h30m`, `0s`) in milliseconds. */
export function parseGracePeriod(value: string): number {
  const ns = parseGoDurationNs(value.trim());
  if (ns === undefined) throw new InvalidArgumentError('not a Go duration such as 30m, 2h or 0s.');
  if (ns < 0) throw new InvalidArgumentError('must not be negative.');
  return ns / 1e6;
}

/** What a dry run prints: one line per blob and manifest a real run would delete. */
function dryRunList(report: GarbageCollectReport): string {
  const lines = [
    ...report.deletedManifests.map((m) => `would delete manifest ${m.repository}@${m.digest}`),
    ...report.deletedBlobs.map((b) => `would delete blob ${b.digest} (${formatBytes(b.size)})`),
  ];
  return lines.map((line) => `${line}\n`).join('');
}

/**
 * `berth garbage-collect [--dry-run] [--delete-untagged] [--grace-period D] [config]`: one online
 * collection over the configured storage (configuration resolved like `serve`; the registry may be
 * serving meanwhile, read-only mode is not needed). Logs go to stderr at the configured level: each
 * phase at info, deleted items at debug; on a terminal a progress line is rewritten in place beside
 * them. stdout gets the dry run's list and one summary line. SIGINT/SIGTERM
 * interrupt the run, which then puts back what it had set aside; a second one exits at once (130),
 * leaving the journal to the next run. Resolves with the exit code: 0 on success, 1 when items
 * failed or the run was interrupted.
 */
export async function runGarbageCollect(argument: string | undefined, flags: GarbageCollectFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const { config, source, drivers } = loadEffectiveConfig(argument, env);
  const logger = createLogger({ level: config.log.level, formatter: config.log.formatter, fields: config.log.fields });
  // Only what concerns storage: the HTTP side (listen address, TLS files, secret) is not used here.
  for (const warning of config.warnings) if (/\bstorage\b/.test(warning)) logger.warn(warning);
  const gc = config.storage.gc;
  const gracePeriodMs = flags.gracePeriod ?? gc.graceperiod;
  const progress = new GcProgress(logger, { dryRun: flags.dryRun ?? false, deleteUntagged: flags.deleteUntagged ?? false, gracePeriodMs, settleMs: gc.settle });

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      // The journal under berth-gc/ lets the next run put back whatever this one still holds.
      logger.error(`received ${signal} again: exiting now; run garbage-collect again to recover what this run had set aside`);
      process.exit(130);
    }
    logger.warn(`received ${signal}: interrupting garbage collection (what it set aside is put back)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const driver = await drivers
    .create(config.storage.driver, config.storage.parameters, {
      logger: logger.child({ component: 'storage', driver: config.storage.driver }),
    })
    .catch((error: unknown) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      throw attributeToSource(source, error);
    });
  let redis: RedisState | undefined;
  let lease: import('@berth/redis').GcLease | undefined;
  try {
    // With redis configured: one collection at a time across the replicas, and the shared cache invalidated.
    redis = await openRedis(config, logger);
    if (redis) {
      const taken = await takeGcLease(redis, logger);
      if ('refused' in taken) {
        logger.error(`garbage collection not started: ${taken.refused}`);
        return GC_LEASE_HELD_EXIT_CODE;
      }
      lease = taken.lease;
    }
    const sharedCache = redis?.sharedCache;
    progress.begin({ source: describeSource(source), driver: config.storage.driver });
    const report = await collectGarbage(driver, {
      gracePeriodMs,
      settleMs: gc.settle,
      deleteUntagged: flags.deleteUntagged ?? false,
      dryRun: flags.dryRun ?? false,
      logger: progress.logger(logger.child({ component: 'gc' })),
      onProgress: progress.onProgress,
      signal: lease ? AbortSignal.any([controller.signal, lease.lost]) : controller.signal,
      invalidate: sharedCache ? () => sharedCache.invalidateAll() : undefined,
    }).catch((error: unknown) => {
      progress.abandon();
      throw error;
    });
    progress.finish(report);
    if (report.dryRun) process.stdout.write(dryRunList(report));
    process.stdout.write(`${summarizeReport(report)}\n`);
    for (const failure of report.errors) logger.error('garbage collection: failed', failure);
    return report.errors.length > 0 || report.interrupted ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await lease?.release();
    await redis?.close();
    await driver.close?.();
  }
}
