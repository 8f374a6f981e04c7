import type { BigIntStats } from 'node:fs';

/**
 * How long after its last change (ctime) an entry must have been left alone before it is
 * remembered. Two changes inside one timestamp tick can leave identical stats; an entry older than
 * a tick at caching time cannot change again without its ctime moving forward (git's "racy clean"
 * rule). Filesystems with sub-second timestamps (ext4, xfs, btrfs, tmpfs) tick at most every 10 ms
 * (the kernel's jiffy at HZ=100); ones with whole-second timestamps, 1 or 2 s (FAT).
 */
export const SETTLE_MS = 100;
export const SETTLE_MS_COARSE = 3000;

/** The settle time for an entry, from whether its ctime has a sub-second part. */
function settleTimeOf(stats: BigIntStats): number {
  return stats.ctimeNs % 1_000_000_000n === 0n ? SETTLE_MS_COARSE : SETTLE_MS;
}

/**
 * Values remembered per absolute path and trusted only while one `stat` of the path still shows the
 * same identity (device, inode, size, mtime and ctime in nanoseconds). Any change by any process —
 * a rename over the file, an append, an entry added to or removed from a directory — changes the
 * identity, so the cache is correct across processes sharing the directory without any invalidation
 * messages. Bounded by a weight budget (bytes, roughly); the oldest entries go first.
 */
export class RevalidatedCache<T> {
  private readonly entries = new Map<string, { readonly identity: Identity; readonly value: T; readonly weight: number }>();
  private weight = 0;

  constructor(
    private readonly maxWeight: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when something is remembered for `path` (worth a `stat` to revalidate it). */
  has(path: string): boolean {
    return this.entries.has(path);
  }

  /** The value remembered for `path` if `stats` (taken just now) show it unchanged since. */
  get(path: string, stats: BigIntStats): T | undefined {
    const entry = this.entries.get(path);
    if (entry === undefined) return undefined;
    if (sameIdentity(entry.identity, stats)) return entry.value;
    this.remove(path);
    return undefined;
  }

  /**
   * Remembers `value`, read from `path` while it had `stats`. Entries changed within their settle
   * time (`SETTLE_MS`, or `SETTLE_MS_COARSE` for whole-second timestamps), or heavier than a tenth of the budget, are not remembered.
   */
  set(path: string, stats: BigIntStats, value: T, weight: number): void {
    this.remove(path);
    if (weight > this.maxWeight / 4) return;
    if (this.now() - Number(stats.ctimeNs / 1_000_000n) < settleTimeOf(stats)) return;
    this.entries.set(path, { identity: identityOf(stats), value, weight });
    this.weight += weight;
    for (const [oldest, entry] of this.entries) {
      if (this.weight <= this.maxWeight) break;
      this.entries.delete(oldest);
      this.weight -= entry.weight;
    }
  }

  /** Number of remembered entries. */
  get size(): number {
    return this.entries.size;
  }

  private remove(path: string): void {
    const entry = this.entries.get(path);
    if (entry === undefined) return;
    this.entries.delete(path);
    this.weight -= entry.weight;
  }
}

/** What must be unchanged for a remembered value to be trusted. */
type Identity = Pick<BigIntStats, 'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>;

function identityOf(stats: BigIntStats): Identity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

function sameIdentity(identity: Identity, stats: BigIntStats): boolean {
  return (
    identity.ctimeNs === stats.ctimeNs &&
    identity.mtimeNs === stats.mtimeNs &&
    identity.ino === stats.ino &&
    identity.size === stats.size &&
    identity.dev === stats.dev
  );
}
