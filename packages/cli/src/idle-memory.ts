import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** How long a process must have had no request in flight before it gives memory back. */
export const IDLE_RELEASE_MS = 2_000;
/** Growth (V8 heap committed plus external memory) below which a release is not worth a collection. */
export const RELEASE_MIN_GROWTH_BYTES = 8 * 1024 * 1024;

/** What a process holds that a full collection can give back: V8's committed heap and its external memory. */
export function heldBytes(): number {
  return getHeapStatistics().total_heap_size + process.memoryUsage().external;
}

type GcFunction = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** V8 from 12 (Node 22) takes `flavor: 'last-resort'`; V8 11 (Node 20) ignores such options and collects nothing. */
const LAST_RESORT_GC = Number(process.versions.v8.split('.')[0]) >= 12;

/**
 * A full garbage collection that gives memory back to the system, synchronous. V8 grows its heap
 * for a burst of requests and keeps the pages once the burst is over: its memory reducer starts
 * only after a full collection, which a process that went quiet right after a burst of short-lived
 * garbage may never run, so the pages stay committed (seen as resident memory climbing run after
 * run in the soak benchmark). A full collection frees them, and with them the buffers (sockets'
 * reads, file chunks) that only garbage still referenced. From V8 12 the young generation grows to
 * two 64 MiB semi-spaces, which only the "last resort" collection (several full collections, then
 * the young generation shrunk) gives back. The collector is reached the way jest's leak detector
 * does: `gc` is exposed for one new context, which leaves the process's own global untouched.
 */
export function collectGarbage(): void {
  const exposed = (globalThis as { gc?: unknown }).gc;
  let gc: GcFunction;
  if (typeof exposed === 'function') gc = exposed as GcFunction;
  else {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as GcFunction;
    setFlagsFromString('--no-expose-gc');
  }
  if (LAST_RESORT_GC) gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  else gc();
}

/** One release: bytes held (`heldBytes`) before and after, and the collection's pause. */
export interface MemoryRelease {
  readonly heldBefore: number;
  readonly heldAfter: number;
  readonly durationMs: number;
}

/** What `IdleMemoryRelease` needs from its process, injectable for tests. */
export interface IdleMemoryHooks {
  /** Memory a release could give back now (`heldBytes`). */
  held(): number;
  /** Gives it back (`collectGarbage`). */
  release(): void;
  setTimeout(fn: () => void, ms: number): { unref?(): unknown };
  clearTimeout(timer: unknown): void;
}

const PROCESS_HOOKS: IdleMemoryHooks = {
  held: heldBytes,
  release: collectGarbage,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/**
 * Gives a serving process's memory back once it has been idle: when no request has been in flight
 * for `idleMs`, and the process holds at least `RELEASE_MIN_GROWTH_BYTES` more than after its last
 * release, one full garbage collection runs. Its pause (about 20 ms on Node 20, 100 ms on Node 24
 * after a burst of 200 clients) falls at a moment with no request in flight; a process that stays
 * busy never pays it (V8's own collections then keep the heap in check), nor does one that idles
 * without having grown.
 */
export class IdleMemoryRelease {
  private timer: unknown;
  private baseline: number;
  private closed = false;

  /**
   * @param released told after each release what the process held before and after it, and how
   *   long the collection took (logged at debug level by the serving stack).
   */
  constructor(
    private readonly released: (report: MemoryRelease) => void = () => undefined,
    private readonly idleMs = IDLE_RELEASE_MS,
    private readonly hooks: IdleMemoryHooks = PROCESS_HOOKS,
  ) {
    this.baseline = hooks.held();
  }

  /** A request started: no release until the requests in flight have ended and `idleMs` passed. */
  requestStarted(): void {
    this.disarm();
  }

  /** The last request in flight ended (its response finished, or its connection closed). */
  allRequestsEnded(): void {
    if (this.closed) return;
    this.disarm();
    const timer = this.hooks.setTimeout(() => this.idle(), this.idleMs);
    timer.unref?.();
    this.timer = timer;
  }

  /** No release after this. */
  close(): void {
    this.closed = true;
    this.disarm();
  }

  private idle(): void {
    this.timer = undefined;
    const heldBefore = this.hooks.held();
    if (heldBefore < this.baseline + RELEASE_MIN_GROWTH_BYTES) return;
    const started = performance.now();
    this.hooks.release();
    this.baseline = this.hooks.held();
    this.released({ heldBefore, heldAfter: this.baseline, durationMs: performance.now() - started });
  }

  private disarm(): void {
    if (this.timer === undefined) return;
    this.hooks.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
