import { yieldIfDue } from '@berth/storage-driver';

/**
 * Runs async work under a lock per key: `KeyedMutex` inside one process; `berth serve` with several
 * processes gives one that holds across the processes of the host (upload sessions, whose bytes
 * every process appends to the same storage).
 */
export interface KeyedLock {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Serialises async work per key inside one process (e.g. concurrent PATCHes to one upload
 * session). Work for different keys runs in parallel; a key's entry is dropped when its queue empties.
 */
export class KeyedMutex implements KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with work queued or running (for tests and metrics). */
  get size(): number {
    return this.tails.size;
  }
}

/**
 * Maps `items` through `fn` with at most `limit` calls in flight; results keep the input order.
 * Lets timers and I/O in every few milliseconds (`yieldIfDue`), also when `fn` answers from memory.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
      const turn = yieldIfDue();
      if (turn) await turn;
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
