import { Digest } from '@berth/registry';
import type { Logger } from '@berth/logging';
import { PathNotFoundError, type StorageDriver } from '@berth/storage-driver';

/**
 * Where the schedule is persisted: distribution's file (`registry/proxy/proxyregistry.go`), at the
 * driver root, outside `docker/registry/v2`, in distribution's format, so a cache root can move
 * between distribution and Berth with its expiries.
 */
export const SCHEDULER_STATE_PATH = '/scheduler-state.json';

/** distribution's `entryTypeBlob` / `entryTypeManifest`. */
const ENTRY_TYPE = { blob: 0, manifest: 1 } as const;

export type CachedKind = keyof typeof ENTRY_TYPE;

/** One cached piece of content and when it expires. */
export interface ExpiryEntry {
  /** The repository. */
  readonly name: string;
  readonly digest: Digest;
  readonly kind: CachedKind;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** distribution's `schedulerEntry` as JSON. */
interface StoredEntry {
  Key: string;
  ExpiryData: string;
  EntryType: number;
}

/**
 * The schedule kept outside the process, shared by every replica (Redis: `@berth/redis`'s
 * `RedisExpirySchedule`). Keys are `<repository>@<digest>`; times are epoch milliseconds.
 */
export interface SharedExpirySchedule {
  /** Schedules (or reschedules) `key`. */
  add(entry: { key: string; kind: CachedKind; expiresAt: number }): Promise<void>;
  /**
   * Claims up to `limit` entries due at `now` in one atomic step, moving them to `retryAt` so no
   * other replica claims them before then (each entry is expired by one replica at a time).
   */
  claimDue(now: number, retryAt: number, limit?: number): Promise<Array<{ key: string; kind: CachedKind; token: number }>>;
  /** Removes a claimed entry, unless it was scheduled again since it was claimed. */
  done(entry: { key: string; kind: CachedKind; token: number }): Promise<void>;
  /** The earliest expiry, undefined when empty. */
  next(): Promise<number | undefined>;
  list(): Promise<Array<{ key: string; kind: CachedKind; expiresAt: number }>>;
  /** Adds `entries` (read from the state file) unless some process already imported one. */
  importOnce(entries: ReadonlyArray<{ key: string; kind: CachedKind; expiresAt: number }>): Promise<boolean>;
}

export interface ExpirySchedulerOptions {
  readonly driver: StorageDriver;
  /** How long cached content lives, in ms (> 0). */
  readonly ttlMs: number;
  /** Removes the content of an expired entry; a failure keeps the entry for a later attempt. */
  readonly onExpire: (entry: ExpiryEntry) => Promise<void>;
  readonly logger: Logger;
  /** How often a changed schedule is written (default 5 s, like distribution). */
  readonly saveIntervalMs?: number;
  /** Least time between two sweeps for expired entries (default 1 s). */
  readonly minSweepIntervalMs?: number;
  /** After a failed removal, the entry is tried again this much later (default 1 min). */
  readonly retryDelayMs?: number;
  readonly statePath?: string;
  readonly now?: () => number;
  /**
   * The schedule shared by the replicas (Redis): entries are added there instead of to the state
   * file, which is only read once, at the first start, to import it.
   */
  readonly shared?: SharedExpirySchedule;
  /**
   * With `shared`: how often the shared schedule is looked at for entries other replicas added
   * (default 5 s). Without: the longest the sweep timer waits before it looks again (default: until
   * the earliest expiry), for a `now` that does not follow the wall clock.
   */
  readonly pollIntervalMs?: number;
}

export function keyOf(name: string, digest: Digest): string {
  return `${name}@${digest}`;
}

/** Parses distribution's state file; entries it cannot read are skipped with a warning. */
export function parseState(content: Buffer, logger: Logger): Map<string, ExpiryEntry> {
  const entries = new Map<string, ExpiryEntry>();
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch (error) {
    logger.warn('the pull-through cache schedule is not JSON: starting with an empty one', { error: (error as Error).message });
    return entries;
  }
  if (typeof json !== 'object' || json === null) return entries;
  for (const value of Object.values(json as Record<string, Partial<StoredEntry>>)) {
    const key = typeof value?.Key === 'string' ? value.Key : '';
    const at = key.lastIndexOf('@');
    const expiresAt = typeof value?.ExpiryData === 'string' ? Date.parse(value.ExpiryData) : NaN;
    const kind = value?.EntryType === ENTRY_TYPE.manifest ? 'manifest' : value?.EntryType === ENTRY_TYPE.blob ? 'blob' : undefined;
    if (at <= 0 || Number.isNaN(expiresAt) || !kind || !Digest.isValid(key.slice(at + 1))) {
      logger.warn('skipping an unreadable pull-through cache schedule entry', { entry: JSON.stringify(value).slice(0, 200) });
      continue;
    }
    entries.set(key, { name: key.slice(0, at), digest: Digest.parse(key.slice(at + 1)), kind, expiresAt });
  }
  return entries;
}

/**
 * The TTL schedule of a pull-through cache: every manifest and blob fetched from the upstream is
 * recorded with `now + ttl`, and removed from the cache once that time has passed, also across
 * restarts (the schedule is persisted in storage at `SCHEDULER_STATE_PATH` every few seconds when
 * it changed, and when stopped). One timer serves the whole schedule, set for the earliest expiry.
 *
 * Several processes may serve one cache root: each saves the union of its entries and those in
 * the file (the later expiry wins), so entries recorded elsewhere survive; an entry is lost only
 * when its process dies within the save interval, and its content then stays cached.
 */
export class ExpiryScheduler {
  private readonly entries = new Map<string, ExpiryEntry>();
  /** Entries removed since the last save: the file's older copies of them are not adopted back. */
  private readonly expired = new Set<string>();
  private dirty = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepAt = Infinity;
  private saveTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private saving: Promise<void> | undefined;
  private stopped = true;
  private lastSweep = 0;
  private readonly statePath: string;
  private readonly now: () => number;

  constructor(private readonly options: ExpirySchedulerOptions) {
    this.statePath = options.statePath ?? SCHEDULER_STATE_PATH;
    this.now = options.now ?? Date.now;
  }

  /** Loads the persisted schedule and starts the timers. Throws when storage cannot be read. */
  async start(): Promise<void> {
    for (const [key, entry] of await this.read()) this.entries.set(key, entry);
    this.stopped = false;
    this.saveTimer = setInterval(() => void this.save(), this.options.saveIntervalMs ?? 5000);
    this.saveTimer.unref();
    this.options.logger.info('pull-through cache expiry scheduler started', { entries: this.entries.size, ttlMs: this.options.ttlMs });
    this.schedule();
  }

  /** Records content just cached: it expires `ttl` from now (an existing entry is replaced). */
  add(name: string, digest: Digest, kind: CachedKind): void {
    if (this.stopped) return;
    const key = keyOf(name, digest);
    const entry: ExpiryEntry = { name, digest, kind, expiresAt: this.now() + this.options.ttlMs };
    this.entries.set(key, entry);
    this.expired.delete(key);
    this.dirty = true;
    this.schedule(entry.expiresAt);
  }

  /** The entries scheduled now (a copy), earliest first. */
  list(): ExpiryEntry[] {
    return [...this.entries.values()].sort((a, b) => a.expiresAt - b.expiresAt);
  }

  /** `list()`, as the shared scheduler answers it. */
  async listAll(): Promise<ExpiryEntry[]> {
    return this.list();
  }

  /** Stops the timers, lets a running sweep finish and saves the schedule. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    clearInterval(this.saveTimer);
    await this.sweeping;
    await this.saving;
    this.dirty = true;
    await this.save(true);
  }

  /** Sets the sweep timer for `at` when that is earlier than the one set (or recomputes it). */
  private schedule(at?: number): void {
    if (this.stopped) return;
    if (at === undefined) {
      at = Infinity;
      for (const entry of this.entries.values()) at = Math.min(at, entry.expiresAt);
      clearTimeout(this.sweepTimer);
      this.sweepTimer = undefined;
      this.sweepAt = Infinity;
    } else if (at >= this.sweepAt) return;
    if (at === Infinity) return;
    const earliest = Math.max(at, this.lastSweep + (this.options.minSweepIntervalMs ?? 1000));
    clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    // setTimeout cannot wait longer than 2^31-1 ms; a later expiry is rescheduled when it fires.
    const delay = Math.min(Math.max(earliest - this.now(), 0), this.options.pollIntervalMs ?? Infinity, 2 ** 31 - 1);
    this.sweepTimer = setTimeout(() => void this.sweep(), delay);
    this.sweepTimer.unref();
  }

  private async sweep(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = (async () => {
      this.lastSweep = this.now();
      const due = [...this.entries.values()].filter((e) => e.expiresAt <= this.lastSweep);
      for (const entry of due) {
        if (this.stopped) break;
        const key = keyOf(entry.name, entry.digest);
        try {
          await this.options.onExpire(entry);
          // Re-cached while it was being removed: the new entry stays.
          if (this.entries.get(key) === entry) {
            this.entries.delete(key);
            this.expired.add(key);
          }
          this.options.logger.info('cached content expired and removed', { repository: entry.name, digest: entry.digest.toString(), kind: entry.kind });
        } catch (error) {
          const retryAt = this.now() + (this.options.retryDelayMs ?? 60_000);
          if (this.entries.get(key) === entry) this.entries.set(key, { ...entry, expiresAt: retryAt });
          this.options.logger.error('could not remove expired cached content; trying again later', {
            repository: entry.name,
            digest: entry.digest.toString(),
            error: (error as Error).message,
          });
        }
        this.dirty = true;
      }
    })();
    try {
      await this.sweeping;
    } finally {
      this.sweeping = undefined;
      this.schedule();
    }
  }

  /** Writes the schedule when it changed: the union of ours and the file's (later expiry wins). */
  private async save(final = false): Promise<void> {
    if (!this.dirty || (this.saving && !final)) return;
    await this.saving;
    this.saving = (async () => {
      this.dirty = false;
      try {
        for (const [key, entry] of await this.read()) {
          const ours = this.entries.get(key);
          if (this.expired.has(key) && !ours) continue;
          if (!ours || ours.expiresAt < entry.expiresAt) this.entries.set(key, entry);
        }
        this.expired.clear();
        const json: Record<string, StoredEntry> = {};
        for (const [key, entry] of this.entries) {
          json[key] = { Key: key, ExpiryData: new Date(entry.expiresAt).toISOString(), EntryType: ENTRY_TYPE[entry.kind] };
        }
        await this.options.driver.putContent(this.statePath, Buffer.from(JSON.stringify(json)));
      } catch (error) {
        this.dirty = true;
        this.options.logger.error('could not save the pull-through cache schedule', { path: this.statePath, error: (error as Error).message });
      }
    })();
    try {
      await this.saving;
    } finally {
      this.saving = undefined;
      if (!final) this.schedule();
    }
  }

  private read(): Promise<Map<string, ExpiryEntry>> {
    return readStateFile(this.options.driver, this.statePath, this.options.logger);
  }
}

/** The schedule saved at `path` (empty when there is none). Throws when storage cannot be read. */
export async function readStateFile(driver: StorageDriver, path: string, logger: Logger): Promise<Map<string, ExpiryEntry>> {
  let content: Buffer;
  try {
    content = await driver.getContent(path);
  } catch (error) {
    if (error instanceof PathNotFoundError) return new Map();
    throw error;
  }
  return parseState(content, logger);
}
