import type { Logger, StorageDriver } from '@berth/storage-driver';
import { noopLogger } from '../context';
import { PeriodicRunner } from '../periodic';
import { firstPurgeDelay } from '../upload-purge-scheduler';
import { collectGarbage, type GarbageCollectOptions } from './collect';
import { summarizeReport, type GarbageCollectReport } from './report';

export interface GcScheduleOptions extends Omit<GarbageCollectOptions, 'signal' | 'logger'> {
  /** Milliseconds between the end of one run and the start of the next (`storage.gc.interval`); must be positive. */
  readonly intervalMs: number;
  readonly logger?: Logger;
  /** Delay before the first run; default random in [0, min(interval, 60 min)) like upload purging. */
  readonly firstRunDelayMs?: number;
  /**
   * Runs first in every scheduled job (retention of `policies`): its failure is logged and the
   * collection runs anyway.
   */
  readonly beforeCollect?: (signal: AbortSignal) => Promise<void>;
  /** Called after every run with its report or the error that ended it (metrics, tests). */
  readonly onRun?: (outcome: { readonly report?: GarbageCollectReport; readonly error?: Error }) => void;
}

/**
 * Runs `collectGarbage` on a schedule inside `berth serve`: first after `firstRunDelayMs`, then
 * `intervalMs` after each run ends (runs never overlap). Each run logs its summary line at info (at
 * warn when items failed); a run that fails is logged at error and the schedule goes on. `stop`
 * interrupts a run in progress, which puts back whatever it had set aside. Timers are unref'd.
 */
export class GcScheduler {
  private readonly logger: Logger;
  private readonly runner: PeriodicRunner;

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: GcScheduleOptions,
  ) {
    if (!(options.intervalMs > 0)) throw new RangeError(`garbage collection interval must be positive, got ${options.intervalMs} ms`);
    this.logger = (options.logger ?? noopLogger).child({ component: 'gc' });
    this.runner = new PeriodicRunner(options.intervalMs, () => this.runOnce());
  }

  /** When the next run is due, or undefined when stopped or while a run is in progress. */
  get nextRunAt(): Date | undefined {
    return this.runner.nextRunAt;
  }

  /** Schedules the first run. */
  start(): void {
    if (!this.runner.idle) return;
    const delay = this.options.firstRunDelayMs ?? firstPurgeDelay(this.options.intervalMs);
    this.logger.info('garbage collection scheduled', {
      firstRunInMs: delay,
      intervalMs: this.options.intervalMs,
      gracePeriodMs: this.options.gracePeriodMs,
      deleteUntagged: this.options.deleteUntagged ?? false,
      dryRun: this.options.dryRun ?? false,
    });
    this.runner.start(delay);
  }

  /** One run now, logged and reported to `onRun`; rejects when it fails (the schedule is not affected). */
  async runOnce(): Promise<GarbageCollectReport> {
    const { intervalMs: _interval, firstRunDelayMs: _first, onRun, logger: _logger, beforeCollect, ...gcOptions } = this.options;
    if (beforeCollect) {
      try {
        await beforeCollect(this.runner.signal);
      } catch (error) {
        this.logger.error('retention before garbage collection failed', { error: error instanceof Error ? error.message : String(error) });
      }
    }
    try {
      const report = await collectGarbage(this.driver, { ...gcOptions, logger: this.logger, signal: this.runner.signal });
      const fields = { runId: report.runId, deletedBlobs: report.deletedBlobs.length, deletedBytes: report.deletedBytes, durationMs: Math.round(report.durationMs) };
      if (report.errors.length > 0) this.logger.warn(summarizeReport(report), { ...fields, errors: report.errors.slice(0, 10) });
      else this.logger.info(summarizeReport(report), fields);
      onRun?.({ report });
      return report;
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      this.logger.error('garbage collection failed', { error: err.message });
      onRun?.({ error: err });
      throw err;
    }
  }

  /** Cancels the next run and interrupts one in progress; resolves once it has put back what it held. */
  stop(): Promise<void> {
    return this.runner.stop();
  }
}
