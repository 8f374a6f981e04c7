import { createHash } from 'node:crypto';
import { InvalidOffsetError } from '../errors';
import {
  CASE_TIMEOUT_MS,
  LARGE_TIMEOUT_MS,
  expectDriverError,
  hashStream,
  inScratch,
  randomContent,
  randomStream,
  readAll,
  type SuiteContext,
} from './context';

export function streamCases(ctx: SuiteContext): void {
  describe('reader and writer streams', () => {
    it(
      `round-trips ${ctx.largeSize} streamed bytes through one writer and one reader, checked by SHA-256, never holding them whole`,
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/large`;
          const size = ctx.largeSize;
          const written = createHash('sha256');
          const writer = await ctx.driver.writer(path, false);
          expect(await writer.write(randomStream(size, written))).toBe(size);
          expect(writer.size).toBe(size);
          await writer.commit();
          const expected = written.digest('hex');

          expect((await ctx.driver.stat(path)).size).toBe(size);
          const read = await hashStream(await ctx.driver.reader(path, 0));
          expect(read.size).toBe(size);
          expect(read.sha256).toBe(expected);

          const tail = await readAll(await ctx.driver.reader(path, size - 10));
          expect(tail.length).toBe(10);
        }),
      LARGE_TIMEOUT_MS,
    );

    it(
      'reads from offsets: 0, inside, the last byte, the end and past the end (empty)',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/offsets`;
          const content = randomContent(96);
          await ctx.driver.putContent(path, content);
          const at = async (offset: number) => readAll(await ctx.driver.reader(path, offset));

          expect((await at(0)).equals(content)).toBe(true);
          expect((await at(32)).equals(content.subarray(32))).toBe(true);
          expect((await at(64)).equals(content.subarray(64))).toBe(true);
          expect((await at(95)).equals(content.subarray(95))).toBe(true);
          expect((await at(96)).length).toBe(0);
          expect((await at(97)).length).toBe(0);
          expect((await at(1024 * 1024)).length).toBe(0);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'reads from offsets inside a multi-MiB file, across internal chunk boundaries',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/chunky`;
          const content = randomContent(3 * 1024 * 1024 + 123);
          const writer = await ctx.driver.writer(path, false);
          await writer.write(content);
          await writer.commit();
          for (const offset of [1, 65_535, 65_536, 1024 * 1024 - 1, 1024 * 1024, 2 * 1024 * 1024 + 17, content.length - 1]) {
            const read = await readAll(await ctx.driver.reader(path, offset));
            expect(read.length).toBe(content.length - offset);
            expect(read.equals(content.subarray(offset))).toBe(true);
          }
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects negative and fractional offsets with InvalidOffsetError naming the driver, the path and the offset',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/file`;
          await ctx.driver.putContent(path, randomContent(32));
          const negative = await expectDriverError(ctx.driver, ctx.driver.reader(path, -1), InvalidOffsetError);
          expect(negative.offset).toBe(-1);
          expect(negative.path).toBe(path);
          await expectDriverError(ctx.driver, ctx.driver.reader(path, 1.5), InvalidOffsetError);
          await expectDriverError(ctx.driver, ctx.driver.reader(`${dir}/missing`, -1), InvalidOffsetError);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'lets a reader opened before an overwrite finish with the content it started on or the new one, never a mix',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/replaced`;
          const first = Buffer.alloc(256 * 1024, 0x61);
          const second = Buffer.alloc(256 * 1024, 0x62);
          await ctx.driver.putContent(path, first);
          const reader = await ctx.driver.reader(path, 0);
          await ctx.driver.putContent(path, second);
          const read = await readAll(reader);
          expect(read.equals(first) || read.equals(second)).toBe(true);
        }),
      CASE_TIMEOUT_MS,
    );
  });
}
