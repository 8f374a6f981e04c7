import type { KeyedLock } from '@berth/registry';

/** Who holds or waits for a lock: a helper process, or the main process itself. */
export type LockOwner = object;

interface Waiter {
  readonly owner: LockOwner;
  readonly grant: () => void;
}

interface Entry {
  holder: LockOwner;
  readonly waiting: Waiter[];
}

/**
 * The upload session locks of `berth serve` with several processes, kept in the main process: a
 * helper asks for a key's lock over IPC (`lock` question, answered once granted) and gives it back
 * (`unlock`); the main process's own requests take it through `local`. A key is granted to one
 * owner at a time, in the order asked. Bounded: a key has an entry only while it is held or awaited
 * (no more than the requests in flight), and a helper that ends (crash, kill -9, stop) loses every
 * lock it held or awaited (`releaseAll`), so none stays taken by a process that is gone.
 */
export class HostLocks {
  private readonly entries = new Map<string, Entry>();
  private readonly mainProcess: LockOwner = {};
  /** Owners `releaseAll` was called for: a question of theirs handled after their exit gets nothing. */
  private readonly gone = new WeakSet<LockOwner>();

  /** Resolves with true once `owner` holds `key`'s lock; false at once when `owner` is gone. */
  acquire(key: string, owner: LockOwner): Promise<boolean> {
    if (this.gone.has(owner)) return Promise.resolve(false);
    const entry = this.entries.get(key);
    if (!entry) {
      this.entries.set(key, { holder: owner, waiting: [] });
      return Promise.resolve(true);
    }
    return new Promise((resolve) => entry.waiting.push({ owner, grant: () => resolve(true) }));
  }

  /** Gives `key`'s lock to the next owner waiting, when `owner` holds it (else nothing happens). */
  release(key: string, owner: LockOwner): void {
    const entry = this.entries.get(key);
    if (!entry || entry.holder !== owner) return;
    const next = entry.waiting.shift();
    if (!next) {
      this.entries.delete(key);
      return;
    }
    entry.holder = next.owner;
    next.grant();
  }

  /** `owner` is gone: its waits are dropped, its locks go to the next owners, and it gets no more. */
  releaseAll(owner: LockOwner): void {
    this.gone.add(owner);
    for (const [key, entry] of [...this.entries]) {
      const kept = entry.waiting.filter((w) => w.owner !== owner);
      entry.waiting.splice(0, entry.waiting.length, ...kept);
      this.release(key, owner);
    }
  }

  /** Keys held or awaited now (for tests). */
  get size(): number {
    return this.entries.size;
  }

  /** The main process's side: its requests take the same locks as the helpers'. */
  readonly local: KeyedLock = {
    run: async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
      await this.acquire(key, this.mainProcess);
      try {
        return await fn();
      } finally {
        this.release(key, this.mainProcess);
      }
    },
  };
}
