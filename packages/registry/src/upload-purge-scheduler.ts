import type { Logger, StorageDriver } from '@berth/storage-driver';
import { noopLogger } from './context';
import { PeriodicRunner } from './periodic';
import { purgeUploads, type UploadPurgeReport } from './upload-purge';

/** The longest delay before the first run, whatever the interval (distribution waits 0-59 min). */
export const MAX_FIRST_PURGE_DELAY_MS = 60 * 60_000;
/**
 * The delay before the first purge: uniformly random in [0, min(interval, 60 min)). Replicas started
 * together thus do not all walk the storage at the same moment (distribution's 0-59 min jitter), and
 * a short interval is not preceded by a longer wait than the interval itself.
 */
export function firstPurgeDelay(intervalMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(intervalMs, MAX_FIRST_PURGE_DELAY_MS));
}

export interface UploadPurgeScheduleOptions {
  /** Sessions older than this many milliseconds are purged (`uploadpurging.age`); must be positive. */
  readonly ageMs: number;
  /** Milliseconds between the end of one run and the start of the next (`uploadpurging.interval`); must be positive. */
  readonly intervalMs: number;
  /** `uploadpurging.dryrun`: runs only report. */
  readonly dryRun: boolean;
  readonly logger?: Logger;
  /** Delay before the first run; default `firstPurgeDelay(intervalMs)`. */
  readonly firstRunDelayMs?: number;
  /** Called after every run, with its report or the error that ended it (metrics). */
  readonly onRun?: (outcome: { readonly report?: UploadPurgeReport; readonly error?: Error }) => void;
}

/**
 * Runs `purgeUploads` on a schedule: first after `firstRunDelayMs`, then `intervalMs` after each run
 * ends (runs never overlap). Every run is logged at info with what it purged; a failed run is logged
 * at error and the schedule goes on. Timers are unref'd: the schedule never keeps a process alive.
 */
export class UploadPurgeScheduler {
  private readonly logger: Logger;
  private readonly runner: PeriodicRunner;

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: UploadPurgeScheduleOptions,
  ) {
    if (!(options.ageMs > 0)) throw new RangeError(`upload purging age must be positive, got ${options.ageMs} ms`);
    if (!(options.intervalMs > 0)) throw new RangeError(`upload purging interval must be positive, got ${options.intervalMs} ms`);
    this.logger = options.logger ?? noopLogger;
    this.runner = new PeriodicRunner(options.intervalMs, () => this.runOnce());
  }

  /** When the next run is due, or undefined when stopped (or a run is in progress). */
  get nextRunAt(): Date | undefined {
    return this.runner.nextRunAt;
  }

  /** Schedules the first run. */
  start(): void {
    if (!this.runner.idle) return;
    const delay = this.options.firstRunDelayMs ?? firstPurgeDelay(this.options.intervalMs);
    this.logger.info('upload purging scheduled', {
      firstRunInMs: delay,
      intervalMs: this.options.intervalMs,
      ageMs: this.options.ageMs,
      dryRun: this.options.dryRun,
    });
    this.runner.start(delay);
  }

  /**
   * One purge now (sessions older than `ageMs`), logged and reported to `onRun`. Rejects when the
   * run fails; the schedule is not affected.
   */
  async runOnce(): Promise<UploadPurgeReport> {
    const { ageMs, dryRun } = this.options;
    try {
      const report = await purgeUploads(this.driver, {
        olderThan: new Date(Date.now() - ageMs),
        dryRun,
        logger: this.logger,
        signal: this.runner.signal,
      });
      this.logger.info(dryRun ? 'upload purge finished (dry run: nothing deleted)' : 'upload purge finished', {
        purged: report.purged.length,
        kept: report.kept,
        multipartUploadsAborted: report.multipartUploadsAborted,
        errors: report.errors.length,
        interrupted: report.interrupted,
        durationMs: Math.round(report.durationMs),
      });
      this.options.onRun?.({ report });
      return report;
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      this.logger.error('upload purge failed', { error: err.message });
      this.options.onRun?.({ error: err });
      throw err;
    }
  }

  /** Cancels the next run and interrupts one in progress (between sessions); resolves once it ended. */
  stop(): Promise<void> {
    return this.runner.stop();
  }
}
