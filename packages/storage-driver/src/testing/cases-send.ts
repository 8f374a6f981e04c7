import { Writable } from 'node:stream';
import { InvalidOffsetError, PathNotFoundError, StorageDriverError } from '../errors';
import { SinkClosedError } from '../send';
import { CASE_TIMEOUT_MS, expectDriverError, inScratch, randomContent, type SuiteContext } from './context';

/**
 * A sink that keeps copies of what it takes, accepting each write after `delayMs` (back-pressure
 * at `highWaterMark` bytes). Copies, because a driver may reuse a buffer once the write is accepted.
 */
function collectingSink(options: { delayMs?: number; highWaterMark?: number } = {}): Writable & { bytes(): Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      if (options.delayMs) setTimeout(callback, options.delayMs);
      else callback();
    },
  });
  return Object.assign(sink, { bytes: () => Buffer.concat(chunks) });
}

export function sendCases(ctx: SuiteContext): void {
  describe('sendTo', () => {
    it(
      'sends exact byte ranges of a multi-MiB file: whole, from inside, across chunk boundaries, the last byte, and nothing',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/blob`;
          const content = randomContent(3 * 1024 * 1024 + 123);
          await ctx.driver.putContent(path, content);
          const ranges: Array<[number, number]> = [
            [0, content.length],
            [1, 1024 * 1024],
            [1024 * 1024 - 1, 2 * 1024 * 1024 + 2],
            [65_536, 17],
            [content.length - 1, 1],
            [5, 0],
          ];
          for (const [offset, length] of ranges) {
            const sink = collectingSink();
            await ctx.driver.sendTo(path, offset, length, sink);
            expect(sink.writableEnded).toBe(false);
            expect(sink.bytes().equals(content.subarray(offset, offset + length))).toBe(true);
          }
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'keeps the bytes in order through a slow sink that pushes back, even when the driver reuses its buffers',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/slow`;
          const content = randomContent(2 * 1024 * 1024 + 5);
          await ctx.driver.putContent(path, content);
          const sink = collectingSink({ delayMs: 1, highWaterMark: 1 });
          await ctx.driver.sendTo(path, 3, content.length - 3, sink);
          expect(sink.bytes().equals(content.subarray(3))).toBe(true);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects a missing path with PathNotFoundError, a file shorter than the range with StorageDriverError, and negative numbers with InvalidOffsetError',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/short`;
          await ctx.driver.putContent(path, randomContent(100));
          await expectDriverError(ctx.driver, ctx.driver.sendTo(`${dir}/missing`, 0, 10, collectingSink()), PathNotFoundError);
          await expectDriverError(ctx.driver, ctx.driver.sendTo(`${dir}/missing`, 0, 0, collectingSink()), PathNotFoundError);
          const short = await expectDriverError(ctx.driver, ctx.driver.sendTo(path, 50, 51, collectingSink()), StorageDriverError);
          expect(short).not.toBeInstanceOf(PathNotFoundError);
          await expectDriverError(ctx.driver, ctx.driver.sendTo(path, -1, 10, collectingSink()), InvalidOffsetError);
          await expectDriverError(ctx.driver, ctx.driver.sendTo(path, 0, -1, collectingSink()), InvalidOffsetError);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'stops with SinkClosedError when the sink is destroyed part-way (a client that went away), and the file stays usable',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/abandoned`;
          const content = randomContent(4 * 1024 * 1024);
          await ctx.driver.putContent(path, content);
          // Takes the first chunk, never accepts it, and goes away.
          const sink = new Writable({
            highWaterMark: 1024,
            write(_chunk: Buffer, _encoding, _callback) {
              setImmediate(() => this.destroy());
            },
          });
          await expect(ctx.driver.sendTo(path, 0, content.length, sink)).rejects.toBeInstanceOf(SinkClosedError);
          const again = collectingSink();
          await ctx.driver.sendTo(path, 0, content.length, again);
          expect(again.bytes().equals(content)).toBe(true);
          await ctx.driver.delete(path);
        }),
      CASE_TIMEOUT_MS,
    );
  });
}
