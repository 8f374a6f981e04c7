import { stat as statCallback } from 'node:fs';
import { tmpdir } from 'node:os';
import { CASE_TIMEOUT_MS, inScratch, type SuiteContext } from './context';

/**
 * How long a starving loop runs before the case gives up and fails. Not a speed requirement: a fair
 * driver lets the timer and the I/O callback in within a few milliseconds of them being due; this
 * only bounds how long an unfair one holds the event loop (and the test) before the failure shows.
 */
const GIVE_UP_MS = 10_000;
/** Long enough after a write for a driver that remembers settled files (filesystem: 100 ms) to remember it. */
const SETTLE_WAIT_MS = 300;

/**
 * Loops over `operation` until both a timer and an I/O callback, started just before, have run, or
 * `GIVE_UP_MS` passed; resolves with what ran.
 */
async function loopUntilTimerAndIo(operation: () => Promise<unknown>): Promise<{ timer: boolean; io: boolean; calls: number }> {
  let timer = false;
  let io = false;
  const handle = setTimeout(() => (timer = true), 10);
  statCallback(tmpdir(), () => (io = true));
  const started = Date.now();
  let calls = 0;
  try {
    while (!(timer && io) && Date.now() - started < GIVE_UP_MS) {
      await operation();
      calls++;
    }
  } finally {
    clearTimeout(handle);
  }
  return { timer, io, calls };
}

export function fairnessCases(ctx: SuiteContext): void {
  describe('event loop', () => {
    it(
      'lets timers and I/O run while a caller loops over getContent, stat, list and walk of a path read before',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/hot`;
          await ctx.driver.putContent(path, Buffer.from('x'));
          await new Promise((resolve) => setTimeout(resolve, SETTLE_WAIT_MS));
          const operations: Record<string, () => Promise<unknown>> = {
            getContent: () => ctx.driver.getContent(path),
            stat: () => ctx.driver.stat(path),
            list: () => ctx.driver.list(dir),
            walk: () => ctx.driver.walk(dir, () => undefined),
          };
          for (const [name, operation] of Object.entries(operations)) {
            await operation(); // now remembered, where the driver remembers anything
            const { timer, io } = await loopUntilTimerAndIo(operation);
            expect({ operation: name, timer, io }).toEqual({ operation: name, timer: true, io: true });
          }
        }),
      CASE_TIMEOUT_MS,
    );
  });
}
