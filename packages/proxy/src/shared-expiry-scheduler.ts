import { Digest } from '@berth/registry';
import { yieldIfDue } from '@berth/storage-driver';
import { readStateFile, SCHEDULER_STATE_PATH, type CachedKind, type ExpiryEntry, type ExpirySchedulerOptions, type SharedExpirySchedule } from './expiry-scheduler';

/** Entries claimed from the shared schedule per round trip. */
const CLAIM_BATCH = 100;

/**
 * The TTL schedule of a pull-through cache whose replicas share it (`redis` configured): every
 * replica adds what it cached to the shared schedule (a Redis sorted set), and expiry claims due
 * entries atomically, so each is expired by one replica at a time, however many replicas sweep.
 * Each replica looks at the schedule when an entry it added falls due, and every `pollIntervalMs`
 * for the entries the others added. An entry whose removal fails (or whose replica dies while
 * removing it) is claimed again `retryDelayMs` later. At the first start with Redis, the state file
 * (`/scheduler-state.json`) is imported once, by whichever replica comes first.
 */
export class SharedExpiryScheduler {
  private readonly shared: SharedExpirySchedule;
  private readonly now: () => number;
  private stopped = true;
  private imported = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepAt = Infinity;
  private pollTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private lastSweep = 0;
  /** One warning per outage of the shared schedule. */
  private failing = false;

  constructor(private readonly options: ExpirySchedulerOptions & { readonly shared: SharedExpirySchedule }) {
    this.shared = options.shared;
    this.now = options.now ?? Date.now;
  }

  /** Imports the state file (first start only) and starts the timers. Throws when storage cannot be read. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.importFile();
    this.pollTimer = setInterval(() => void this.sweep(), this.options.pollIntervalMs ?? 5000);
    this.pollTimer.unref();
    this.options.logger.info('pull-through cache expiry scheduler started (schedule shared in redis)', { ttlMs: this.options.ttlMs });
    void this.sweep();
  }

  /** Records content just cached in the shared schedule: it expires `ttl` from now. */
  add(name: string, digest: Digest, kind: CachedKind): void {
    if (this.stopped) return;
    const expiresAt = this.now() + this.options.ttlMs;
    this.shared.add({ key: `${name}@${digest}`, kind, expiresAt }).then(
      () => this.arm(expiresAt),
      (error: unknown) =>
        this.options.logger.error('could not add cached content to the shared expiry schedule: it stays cached until fetched again', {
          repository: name,
          digest: digest.toString(),
          error: (error as Error).message,
        }),
    );
  }

  /** Every entry of the shared schedule, earliest first. */
  async listAll(): Promise<ExpiryEntry[]> {
    const entries: ExpiryEntry[] = [];
    for (const entry of await this.shared.list()) {
      const parsed = parseKey(entry.key);
      if (parsed) entries.push({ ...parsed, kind: entry.kind, expiresAt: entry.expiresAt });
    }
    return entries;
  }

  /** Stops the timers and lets a running sweep finish. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    clearInterval(this.pollTimer);
    await this.sweeping;
  }

  /** Imports the state file once per Redis; when Redis cannot be asked, tried again at the next sweep. */
  private async importFile(): Promise<void> {
    if (this.imported) return;
    const path = this.options.statePath ?? SCHEDULER_STATE_PATH;
    const entries = await readStateFile(this.options.driver, path, this.options.logger);
    try {
      const did = await this.shared.importOnce([...entries].map(([key, entry]) => ({ key, kind: entry.kind, expiresAt: entry.expiresAt })));
      this.imported = true;
      if (did && entries.size > 0) this.options.logger.info('imported the pull-through cache schedule into redis', { path, entries: entries.size });
    } catch (error) {
      this.options.logger.warn('could not import the pull-through cache schedule into redis yet; trying again later', { path, error: (error as Error).message });
    }
  }

  /** Sets the sweep timer for `at` when that is earlier than the one set. */
  private arm(at: number): void {
    if (this.stopped || at >= this.sweepAt) return;
    clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    const earliest = Math.max(at, this.lastSweep + (this.options.minSweepIntervalMs ?? 1000));
    const delay = Math.min(Math.max(earliest - this.now(), 0), 2 ** 31 - 1);
    this.sweepTimer = setTimeout(() => {
      this.sweepAt = Infinity;
      void this.sweep();
    }, delay);
    this.sweepTimer.unref();
  }

  private async sweep(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = this.claimAndExpire();
    try {
      await this.sweeping;
    } finally {
      this.sweeping = undefined;
    }
  }

  private async claimAndExpire(): Promise<void> {
    this.lastSweep = this.now();
    try {
      if (!this.imported) await this.importFile();
      for (;;) {
        if (this.stopped) return;
        const now = this.now();
        const claimed = await this.shared.claimDue(now, now + (this.options.retryDelayMs ?? 60_000), CLAIM_BATCH);
        for (const entry of claimed) {
          if (this.stopped) return; // the rest is claimed again after the retry delay
          await this.expireOne(entry);
          const turn = yieldIfDue();
          if (turn) await turn;
        }
        if (claimed.length < CLAIM_BATCH) break;
      }
      const next = await this.shared.next();
      if (next !== undefined) this.arm(next);
      if (this.failing) this.options.logger.info('the shared expiry schedule answers again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.options.logger.warn('could not read the shared expiry schedule; trying again later', { error: (error as Error).message });
      this.failing = true;
    }
  }

  private async expireOne(claimed: { key: string; kind: CachedKind; token: number }): Promise<void> {
    const parsed = parseKey(claimed.key);
    if (!parsed) {
      this.options.logger.warn('skipping an unreadable pull-through cache schedule entry', { entry: claimed.key.slice(0, 200) });
      await this.shared.done(claimed);
      return;
    }
    const entry: ExpiryEntry = { ...parsed, kind: claimed.kind, expiresAt: this.now() };
    try {
      await this.options.onExpire(entry);
    } catch (error) {
      this.options.logger.error('could not remove expired cached content; trying again later', {
        repository: entry.name,
        digest: entry.digest.toString(),
        error: (error as Error).message,
      });
      return;
    }
    await this.shared.done(claimed);
    this.options.logger.info('cached content expired and removed', { repository: entry.name, digest: entry.digest.toString(), kind: entry.kind });
  }
}

function parseKey(key: string): { name: string; digest: Digest } | undefined {
  const at = key.lastIndexOf('@');
  if (at <= 0 || !Digest.isValid(key.slice(at + 1))) return undefined;
  return { name: key.slice(0, at), digest: Digest.parse(key.slice(at + 1)) };
}
