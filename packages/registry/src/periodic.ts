/** Node timers fire at once beyond this delay (about 24.8 days); longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs a task on a schedule: first after the delay given to `start`, then `intervalMs` after each
 * run ends, so runs never overlap. A run that rejects does not end the schedule (the task reports
 * its own failures). `stop` cancels the next run, aborts `signal` for a run in progress and waits
 * for it to end. Timers are unref'd: a schedule never keeps a process alive.
 */
export class PeriodicRunner {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private due: number | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<unknown>,
  ) {}

  /** Aborted by `stop`: tasks pass it to the work they run. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** When the next run is due, or undefined when stopped or while a run is in progress. */
  get nextRunAt(): Date | undefined {
    return this.due === undefined ? undefined : new Date(this.due);
  }

  /** True until `start` or `stop` is called (and never again after). */
  get idle(): boolean {
    return !this.stopped && this.due === undefined && this.running === undefined;
  }

  /** Schedules the first run `delayMs` from now; does nothing unless idle. */
  start(delayMs: number): void {
    if (this.idle) this.schedule(delayMs);
  }

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

  /** Sets a timer towards `due`, in steps node's timers can hold. */
  private arm(): void {
    if (this.due === undefined) return;
    const wait = Math.max(0, this.due - Date.now());
    this.timer = setTimeout(() => {
      if (this.stopped || this.due === undefined) return;
      if (Date.now() < this.due) return this.arm();
      this.due = undefined;
      this.running = this.task()
        .catch(() => undefined)
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.intervalMs);
        });
    }, Math.min(wait, MAX_TIMER_MS));
    this.timer.unref();
  }
}
