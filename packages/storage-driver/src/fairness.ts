import { setImmediate } from 'node:timers';

/**
 * How long work may run on from one event-loop turn before it lets timers and I/O in. An operation
 * answered from memory (a remembered link, the in-memory driver, a cached manifest) settles through
 * microtasks only, and a loop awaiting nothing else never returns to the event loop: timers, sockets
 * and even jest's timeouts stop. A few milliseconds keep the cost of yielding (one pass of the
 * event loop) far below 1 % of the work while a request waiting behind such a loop waits little.
 */
export const TURN_SLICE_MS = 4;

/** When the current stretch of work started; `watching` while a check-phase callback will end it. */
let turnStarted = 0;
let watching = false;

function turnEnded(): void {
  watching = false;
}

/**
 * Undefined while the current event-loop turn is younger than `TURN_SLICE_MS`; otherwise a promise
 * that resolves on the next turn, after timers and I/O callbacks had their go (`setImmediate`). The
 * turn is process-wide: every caller's work counts against the same slice, and any return to the
 * event loop (an awaited read, a socket event) starts a new one. Cost on the fast path: one clock
 * read, and one `setImmediate` per turn in which it is called. Timers come from `node:timers`, so
 * tests' fake timers cannot freeze it.
 *
 * Use it in loops that may be answered from memory: `const turn = yieldIfDue(); if (turn) await turn;`.
 */
export function yieldIfDue(): Promise<void> | undefined {
  const now = performance.now();
  if (!watching) {
    watching = true;
    turnStarted = now;
    setImmediate(turnEnded);
    return undefined;
  }
  if (now - turnStarted < TURN_SLICE_MS) return undefined;
  return new Promise<void>((resolve) => setImmediate(resolve));
}
