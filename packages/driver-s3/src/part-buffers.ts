import type { S3Context } from './context';
import { MIB } from './limits';

/** The smallest default budget: room for four 10 MiB part buffers (see `defaultPartBufferBudget`). */
const MIN_DEFAULT_BUDGET = 48 * MIB;
/** How long released buffers are kept for reuse after the last release. */
const DEFAULT_IDLE_MS = 15_000;

/**
 * The default budget of a driver's `PartBufferPool`: 48 MiB, or two part buffers when `chunksize`
 * is larger than 24 MiB (so that a lone writer can always overlap reading with its upload).
 *
 * Why this figure: writers never wait for the pool (a writer that needs its first full-size buffer
 * always gets one), so the budget only decides how many writers get a SECOND buffer, and a second
 * buffer is lent only while every full-size buffer lent stays within the budget. With the default
 * 10 MiB chunksize, 48 MiB is one writer or two with two buffers each, three writers of which one
 * has a spare, and from four concurrent writers on nothing more than today's one buffer per writer.
 * So N concurrent large uploads hold max(48 MiB, N × 10 MiB) of part buffers: 8 concurrent
 * 1 GiB pushes hold the same 80 MiB as without the pool (on a ~120 MiB baseline), while one or two
 * pushes, the case where an upload's part in flight leaves the CPU idle, read their next part
 * while the previous one goes out. A larger budget would only move the point where spares run out
 * to more concurrent writers, who already keep each other's reading busy.
 */
export function defaultPartBufferBudget(chunkSize: number): number {
  return Math.max(MIN_DEFAULT_BUDGET, 2 * chunkSize);
}

/**
 * Full-size (`bufferSize`, the driver's `chunksize`) part buffers shared by the writers of one
 * driver, so that the memory spent on parts in flight is bounded process-wide.
 *
 * - `acquire` always hands out a buffer: a writer's FIRST full-size buffer, without which it could
 *   not make progress. It may take the buffers lent over the budget (one per writer at most).
 * - `tryAcquireSpare` hands out a SECOND buffer only while all buffers lent, this one included,
 *   fit in `budget` bytes; otherwise undefined, and the writer sends its parts one at a time.
 * - `release` takes a buffer back. Released buffers are kept for reuse (no allocation, no garbage
 *   for the next writer) while lent and idle ones together fit the budget, and are all dropped
 *   `idleMs` after the last release, so an idle server does not hold them.
 *
 * Every buffer handed out must be released exactly once, when its writer is done with it
 * (commit, close, cancel or failure): a buffer never released shrinks what the budget leaves for
 * spares until the process ends. Buffers are handed out uninitialised (`Buffer.allocUnsafe`).
 */
export class PartBufferPool {
  private readonly idle: Buffer[] = [];
  private lent = 0;
  private trimTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly bufferSize: number,
    readonly budget: number,
    private readonly idleMs = DEFAULT_IDLE_MS,
  ) {}

  /** Buffers lent out and not yet released. */
  get lentCount(): number {
    return this.lent;
  }

  /** Released buffers kept for reuse. */
  get idleCount(): number {
    return this.idle.length;
  }

  /** A buffer for a writer's first full-size part: never refused. */
  acquire(): Buffer {
    this.lent++;
    return this.idle.pop() ?? Buffer.allocUnsafe(this.bufferSize);
  }

  /** A second buffer for a writer, or undefined when lending it would exceed the budget. */
  tryAcquireSpare(): Buffer | undefined {
    if ((this.lent + 1) * this.bufferSize > this.budget) return undefined;
    return this.acquire();
  }

  /** Takes back a buffer from `acquire` or `tryAcquireSpare`; it must not be used afterwards. */
  release(buffer: Buffer): void {
    if (this.lent === 0) throw new Error('PartBufferPool: more buffers released than lent');
    this.lent--;
    if (buffer.length !== this.bufferSize || (this.lent + this.idle.length + 1) * this.bufferSize > this.budget) return;
    this.idle.push(buffer);
    if (this.trimTimer) clearTimeout(this.trimTimer);
    this.trimTimer = setTimeout(() => this.trim(), this.idleMs);
    this.trimTimer.unref();
  }

  /** Drops every idle buffer (the garbage collector frees them). */
  trim(): void {
    if (this.trimTimer) clearTimeout(this.trimTimer);
    this.trimTimer = undefined;
    this.idle.length = 0;
  }
}

const pools = new WeakMap<S3Context, PartBufferPool>();

/**
 * The pool shared by every writer of one driver (one `S3Context`), created on first use with the
 * driver's `chunksize` and `defaultPartBufferBudget`.
 */
export function partBufferPoolOf(ctx: S3Context): PartBufferPool {
  let pool = pools.get(ctx);
  if (!pool) {
    const chunkSize = ctx.params.chunkSize;
    pool = new PartBufferPool(chunkSize, defaultPartBufferBudget(chunkSize));
    pools.set(ctx, pool);
  }
  return pool;
}
