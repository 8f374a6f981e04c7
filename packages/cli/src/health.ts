import { PathNotFoundError, type Logger, type StorageDriver } from '@berth/storage-driver';

export interface PeriodicCheckOptions {
  /** Time between the end of one check and the start of the next. */
  readonly intervalMs: number;
  /** Consecutive failures before the check turns unhealthy (at least 1). */
  readonly threshold: number;
  /** A check still running after this long counts as failed (default: the interval). */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
  /** Called with the new state each time it changes, and once at start (healthy). */
  readonly onChange?: (healthy: boolean) => void;
}

/**
 * A health check run periodically, like distribution's `PeriodicThresholdChecker`: it is healthy
 * until `threshold` consecutive runs fail, then unhealthy until one run succeeds. The first run is
 * at `start` (distribution waits one interval). A run that hangs counts as failed after `timeoutMs`;
 * runs never overlap. The transition to unhealthy is logged at warn, the recovery at info.
 */
export class PeriodicCheck {
  private failures = 0;
  private lastError: string | undefined;
  private unhealthy = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly check: () => Promise<void>,
    private readonly options: PeriodicCheckOptions,
  ) {
    if (!(options.intervalMs > 0)) throw new RangeError(`health check ${name}: interval must be positive`);
  }

  get healthy(): boolean {
    return !this.unhealthy;
  }

  /** The error of the latest failed run while unhealthy, else undefined. */
  get error(): string | undefined {
    return this.unhealthy ? this.lastError : undefined;
  }

  start(): void {
    this.options.onChange?.(true);
    this.tick();
  }

  /** Runs the check once and updates the state. */
  async runOnce(): Promise<void> {
    const timeoutMs = this.options.timeoutMs ?? this.options.intervalMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.check(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      this.succeeded();
    } catch (error) {
      this.failed(error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops scheduling runs; resolves once a run in progress ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.runOnce().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      this.timer = setTimeout(() => this.tick(), this.options.intervalMs);
      this.timer.unref();
    });
  }

  private succeeded(): void {
    this.failures = 0;
    if (!this.unhealthy) return;
    this.unhealthy = false;
    this.options.logger?.info(`health check ${this.name} passes again`, { check: this.name });
    this.options.onChange?.(true);
  }

  private failed(error: string): void {
    this.failures++;
    this.lastError = error;
    const threshold = Math.max(1, this.options.threshold);
    if (this.unhealthy || this.failures < threshold) {
      this.options.logger?.debug(`health check ${this.name} failed`, { check: this.name, error, consecutiveFailures: this.failures });
      return;
    }
    this.unhealthy = true;
    this.options.logger?.warn(`health check ${this.name} is failing`, { check: this.name, error, consecutiveFailures: this.failures });
    this.options.onChange?.(false);
  }
}

/** The checks `/debug/health` reports. */
export class HealthChecks {
  private readonly checks: PeriodicCheck[] = [];
  private readonly advisory = new Set<PeriodicCheck>();

  /**
   * `advisory`: the check is reported while it fails but does not make the process unhealthy (Redis:
   * requests keep working from storage, so a readiness probe must not take every replica out).
   */
  add(check: PeriodicCheck, options: { advisory?: boolean } = {}): void {
    this.checks.push(check);
    if (options.advisory) this.advisory.add(check);
  }

  /** Failing checks, name → error: distribution's `/debug/health` body (`{}` when all pass). */
  failing(): Record<string, string> {
    return Object.fromEntries(this.checks.filter((c) => !c.healthy).map((c) => [c.name, c.error ?? 'failing']));
  }

  /** True while a check that is not advisory fails (`/debug/health` answers 503). */
  get unhealthy(): boolean {
    return this.checks.some((c) => !c.healthy && !this.advisory.has(c));
  }

  start(): void {
    for (const check of this.checks) check.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.checks.map((check) => check.stop()));
  }
}

/**
 * The storage driver check: the driver lists its root directory, or says it does not exist yet (an
 * empty store is healthy); any other error fails the check. distribution calls `Stat("/")`; Berth
 * lists instead because its s3 driver answers `stat('/')` without a request (the root of a bucket
 * always exists), so a stat would never notice an unreachable S3 endpoint. The root holds one entry
 * (`docker`), so the listing costs one small request.
 */
export function storageDriverCheck(driver: StorageDriver): () => Promise<void> {
  return async () => {
    try {
      await driver.list('/');
    } catch (error) {
      if (!(error instanceof PathNotFoundError)) throw error;
    }
  };
}
