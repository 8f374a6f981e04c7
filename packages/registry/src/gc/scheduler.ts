import type { Logger, StorageDriver } from '@berth/storage-driver';
import { noopLogger } from '../context';
import { firstPurgeDelay } from '../upload-purge-scheduler';
import { collectGarbage, type GarbageCollectOptions } from './collect';
import { summarizeReport, type GarbageCollectReport } from './report';

/** Node timers fire at once beyond this delay (about 24.8 days); longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface GcScheduleOptions extends Omit<GarbageCollectOptions, 'signal' | 'logger'> {
  /** Milliseconds between the end of one run and the start of the next (`storage.gc.interval`); must be positive. */
  readonly intervalMs: number;
  readonly logger?: Logger;
  /** Delay before the first run; default random in [0, min(interval, 60 min)) like upload purging. */
  readonly firstRunDelayMs?: number;
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
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private due: number | undefined;

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: GcScheduleOptions,
  ) {
    if (!(options.intervalMs > 0)) throw new RangeError(`garbage collection interval must be positive, got ${options.intervalMs} ms`);
    this.logger = (options.logger ?? noopLogger).child({ component: 'gc' });
  }

  /** When the next run is due, or undefined when stopped or while a run is in progress. */
  get nextRunAt(): Date | undefined {
    return this.due === undefined ? undefined : new Date(this.due);
  }

  /** Schedules the first run. */
  start(): void {
    if (this.stopped || this.due !== undefined || this.running) return;
    const delay = this.options.firstRunDelayMs ?? firstPurgeDelay(this.options.intervalMs);
    this.logger.info('garbage collection scheduled', {
      firstRunInMs: delay,
      intervalMs: this.options.intervalMs,
      gracePeriodMs: this.options.gracePeriodMs,
      deleteUntagged: this.options.deleteUntagged ?? false,
      dryRun: this.options.dryRun ?? false,
    });
    this.schedule(delay);
  }

  /** One run now, logged and reported to `onRun`; rejects when it fails (the schedule is not affected). */
  async runOnce(): Promise<GarbageCollectReport> {
    const { intervalMs: _interval, firstRunDelayMs: _first, onRun, logger: _logger, ...gcOptions } = this.options;
    try {
      const report = await collectGarbage(this.driver, { ...gcOptions, logger: this.logger, signal: this.controller.signal });
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
  async stop(): Promise<void> {
    this.stopped = true;
    this.due = undefined;
    clearTimeout(this.timer);
    this.controller.abort();
    await this.running?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    this.due = Date.now() + delayMs;
    this.arm();
  }

  private arm(): void {
    if (this.due === undefined) return;
    const wait = Math.max(0, this.due - Date.now());
    this.timer = setTimeout(() => {
      if (this.stopped || this.due === undefined) return;
      if (Date.now() < this.due) return this.arm();
      this.due = undefined;
      this.running = this.runOnce()
        .catch(() => undefined)
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.options.intervalMs);
        });
    }, Math.min(wait, MAX_TIMER_MS));
    this.timer.unref();
  }
}
