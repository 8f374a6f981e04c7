import { PathNotFoundError, StorageDriverError } from '../errors';
import { CASE_TIMEOUT_MS, expectDriverError, inScratch, randomContent, readAll, sha256, streamOf, type SuiteContext } from './context';

/**
 * Writes three chunks of `chunkSize` through three separate writer instances (the second and third
 * resume with append after the previous one was closed), checking `size` at every step.
 */
async function resumeAcrossWriters(ctx: SuiteContext, path: string, chunkSize: number): Promise<void> {
  const chunks = [randomContent(chunkSize), randomContent(chunkSize), randomContent(chunkSize)];
  const full = Buffer.concat(chunks);

  const first = await ctx.driver.writer(path, false);
  expect(first.size).toBe(0);
  expect(await first.write(streamOf(chunks[0]))).toBe(chunkSize);
  expect(first.size).toBe(chunkSize);
  await first.close();
  expect(first.size).toBe(chunkSize);

  const second = await ctx.driver.writer(path, true);
  expect(second.size).toBe(chunkSize);
  expect(await second.write(chunks[1])).toBe(chunkSize);
  expect(second.size).toBe(2 * chunkSize);
  await second.close();
  expect(second.size).toBe(2 * chunkSize);

  const third = await ctx.driver.writer(path, true);
  expect(third.size).toBe(2 * chunkSize);
  expect(await third.write(streamOf(full.subarray(third.size)))).toBe(chunkSize);
  expect(third.size).toBe(3 * chunkSize);
  await third.commit();
  expect(third.size).toBe(3 * chunkSize);

  expect((await ctx.driver.stat(path)).size).toBe(full.length);
  const read = await ctx.driver.getContent(path);
  expect(read.length).toBe(full.length);
  expect(sha256(read)).toBe(sha256(full));
}

export function writerCases(ctx: SuiteContext): void {
  describe('writers', () => {
    it(
      'resumes a write across separate writer instances with tiny (32-byte) chunks',
      () => inScratch(ctx, (dir) => resumeAcrossWriters(ctx, `${dir}/small`, 32)),
      CASE_TIMEOUT_MS,
    );

    it(
      'resumes a write across separate writer instances with large (10 MiB) chunks',
      () => inScratch(ctx, (dir) => resumeAcrossWriters(ctx, `${dir}/large`, 10 * 1024 * 1024)),
      CASE_TIMEOUT_MS,
    );

    it(
      'appends several writes of one writer in order, from Buffers and Readables, counting each',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/mixed`;
          const parts = [randomContent(10), randomContent(70_000), Buffer.alloc(0), randomContent(3)];
          const writer = await ctx.driver.writer(path, false);
          let expectedSize = 0;
          for (const [i, part] of parts.entries()) {
            const written = await writer.write(i % 2 === 0 ? part : streamOf(part, 4096));
            expect(written).toBe(part.length);
            expectedSize += part.length;
            expect(writer.size).toBe(expectedSize);
          }
          await writer.commit();
          expect((await ctx.driver.getContent(path)).equals(Buffer.concat(parts))).toBe(true);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'commits a writer that wrote nothing as an empty file',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/empty`;
          const writer = await ctx.driver.writer(path, false);
          await writer.commit();
          expect(writer.size).toBe(0);
          expect(await ctx.driver.stat(path)).toMatchObject({ path, size: 0, isDir: false });
          expect((await ctx.driver.getContent(path)).length).toBe(0);
          expect((await readAll(await ctx.driver.reader(path, 0))).length).toBe(0);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'appends to a zero-length file that was put',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/grows`;
          await ctx.driver.putContent(path, Buffer.alloc(0));
          const writer = await ctx.driver.writer(path, true);
          expect(writer.size).toBe(0);
          const content = randomContent(1000);
          await writer.write(content);
          await writer.commit();
          expect((await ctx.driver.getContent(path)).equals(content)).toBe(true);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'appends to a zero-length file that a writer committed',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/grows`;
          await (await ctx.driver.writer(path, false)).commit();
          const writer = await ctx.driver.writer(path, true);
          expect(writer.size).toBe(0);
          await writer.write(Buffer.from('later'));
          await writer.commit();
          expect((await ctx.driver.getContent(path)).toString()).toBe('later');
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'makes committed content readable at once, by getContent, reader and stat',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/committed`;
          const content = randomContent(200_000);
          const writer = await ctx.driver.writer(path, false);
          await writer.write(streamOf(content, 10_000));
          await writer.commit();
          expect((await readAll(await ctx.driver.reader(path, 0))).equals(content)).toBe(true);
          expect((await ctx.driver.getContent(path)).equals(content)).toBe(true);
          expect((await ctx.driver.stat(path)).size).toBe(content.length);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'discards a cancelled write: the path is not found, there is nothing to resume, and a fresh writer starts clean',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/cancelled`;
          const writer = await ctx.driver.writer(path, false);
          await writer.write(randomContent(4096));
          await writer.cancel();
          await expectDriverError(ctx.driver, ctx.driver.getContent(path), PathNotFoundError);
          await expectDriverError(ctx.driver, ctx.driver.stat(path), PathNotFoundError);
          await expectDriverError(ctx.driver, ctx.driver.writer(path, true), PathNotFoundError);

          const fresh = await ctx.driver.writer(path, false);
          expect(fresh.size).toBe(0);
          await fresh.write(Buffer.from('clean'));
          await fresh.commit();
          expect((await ctx.driver.getContent(path)).toString()).toBe('clean');
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'discards on cancel the bytes of earlier, closed writer instances too',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/cancelled-after-resume`;
          const first = await ctx.driver.writer(path, false);
          await first.write(randomContent(100));
          await first.close();
          const resumed = await ctx.driver.writer(path, true);
          expect(resumed.size).toBe(100);
          await resumed.write(randomContent(100));
          await resumed.cancel();
          await expectDriverError(ctx.driver, ctx.driver.getContent(path), PathNotFoundError);
          await expectDriverError(ctx.driver, ctx.driver.writer(path, true), PathNotFoundError);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'starts afresh when a non-append writer opens a path with an unfinished write',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/restarted`;
          const abandoned = await ctx.driver.writer(path, false);
          await abandoned.write(Buffer.from('abandoned bytes'));
          await abandoned.close();
          const fresh = await ctx.driver.writer(path, false);
          expect(fresh.size).toBe(0);
          await fresh.write(Buffer.from('fresh'));
          await fresh.commit();
          expect((await ctx.driver.getContent(path)).toString()).toBe('fresh');
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects resuming (append) where nothing was written, with PathNotFoundError naming the driver',
      () =>
        inScratch(ctx, async (dir) => {
          const error = await expectDriverError(ctx.driver, ctx.driver.writer(`${dir}/never-written`, true), PathNotFoundError);
          expect(error.path).toBe(`${dir}/never-written`);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'closes idempotently, accepts close after commit, and refuses writes after commit',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/closing`;
          const writer = await ctx.driver.writer(path, false);
          await writer.write(Buffer.from('abc'));
          await writer.close();
          await writer.close();
          const resumed = await ctx.driver.writer(path, true);
          await resumed.write(Buffer.from('def'));
          await resumed.commit();
          await resumed.close();
          await expectDriverError(ctx.driver, resumed.write(Buffer.from('ghi')), StorageDriverError);
          expect((await ctx.driver.getContent(path)).toString()).toBe('abcdef');
        }),
      CASE_TIMEOUT_MS,
    );
  });
}
