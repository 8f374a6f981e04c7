import type { GarbageCollectReport, GcProgressEvent } from '@berth/registry';
import type { Logger } from '@berth/storage-driver';

/** What `berth garbage-collect` writes its progress line to: stderr, or a stream in tests. */
export interface ProgressOutput {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** How long the run waits after setting content aside, and what it does. */
export interface GcRunSettings {
  readonly dryRun: boolean;
  readonly deleteUntagged: boolean;
  readonly gracePeriodMs: number;
  readonly settleMs: number;
}

/**
 * The phases of one `garbage-collect` run, for the person watching it. The collection tells when
 * each phase ends (`onProgress`, given to `collectGarbage`); this logs one info line per phase
 * (marking, marked, re-checked, finished) and, when `output` is a terminal, keeps a progress line
 * rewritten in place (`\r`) with the phase, the counts and the seconds spent. `logger()` keeps the
 * collection's own log lines from running into that line.
 */
export class GcProgress {
  private phase = 'starting';
  private deletedBlobs = 0;
  private deletedManifests = 0;
  private readonly started = Date.now();
  private shown = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly settings: GcRunSettings,
    private readonly output: ProgressOutput = process.stderr,
  ) {}

  private get tty(): boolean {
    return this.output.isTTY === true;
  }

  /** Logs the start of the mark phase; on a terminal, starts the progress line. */
  begin(fields: Record<string, unknown>): void {
    this.enter('marking: walking repositories and blobs, reading manifests');
    this.log.info('garbage collection: marking', { ...fields, ...this.settings });
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 1_000);
      this.timer.unref();
      this.draw();
    }
  }

  /** A logger for the collection: each line goes to `inner` with the progress line cleared first and drawn again after. */
  logger(inner: Logger): Logger {
    const around =
      (level: 'error' | 'warn' | 'info' | 'debug') =>
      (message: string, meta?: Record<string, unknown>): unknown => {
        this.clear();
        const result = inner[level](message, meta);
        this.draw();
        return result;
      };
    return {
      error: around('error'),
      warn: around('warn'),
      info: around('info'),
      debug: around('debug'),
      child: (meta) => this.logger(inner.child(meta)),
    };
  }

  /** What the collection tells at the end of each phase (`GarbageCollectOptions.onProgress`). */
  readonly onProgress = (event: GcProgressEvent): void => {
    this.clear();
    if (event.phase === 'marked') {
      const { phase: _phase, ...counts } = event;
      this.log.info('garbage collection: marked', counts);
      if (this.settings.dryRun) this.enter('mark done: listing what a run would delete');
      else if (event.candidates === 0) this.enter('mark done: nothing to delete');
      else this.enter(`setting ${event.candidates} blobs aside, then settling ${Math.round(this.settings.settleMs / 1000)} s before the re-check`);
    } else if (event.phase === 'rechecked') {
      this.log.info('garbage collection: re-checked after settling', { newRevisions: event.newRevisions, stillNeeded: event.stillNeeded });
      this.enter('deleting what nothing needs, putting back what a push needs');
    } else {
      this.deletedBlobs = event.deletedBlobs;
      this.deletedManifests = event.deletedManifests;
    }
    this.draw();
  };

  /** Ends the progress line and logs the outcome. */
  finish(report: GarbageCollectReport): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
    this.log.info('garbage collection: finished', {
      dryRun: report.dryRun,
      blobs: report.blobs,
      marked: report.marked,
      deletedBlobs: report.deletedBlobs.length,
      deletedBytes: report.deletedBytes,
      deletedManifests: report.deletedManifests.length,
      errors: report.errors.length,
      interrupted: report.interrupted,
      durationMs: Math.round(report.durationMs),
    });
  }

  /** Stops the progress line without a report (the run failed). */
  abandon(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private enter(phase: string): void {
    this.phase = phase;
  }

  private draw(): void {
    if (!this.tty || this.timer === undefined) return;
    const seconds = Math.floor((Date.now() - this.started) / 1000);
    const counts =
      this.deletedBlobs + this.deletedManifests > 0 ? `; ${this.deletedBlobs} blobs, ${this.deletedManifests} manifests deleted` : '';
    this.output.write(`\r\x1b[2Kgarbage collection: ${this.phase}${counts} (${seconds} s)`);
    this.shown = true;
  }

  private clear(): void {
    if (!this.tty || !this.shown) return;
    this.output.write('\r\x1b[2K');
    this.shown = false;
  }
}
