import { PathNotFoundError } from '../errors';
import { CASE_TIMEOUT_MS, expectDriverError, inScratch, settleAll, randomContent, type SuiteContext } from './context';

export function mutateCases(ctx: SuiteContext): void {
  describe('move', () => {
    it(
      'moves content to the destination (creating its directories) and removes the source',
      () =>
        inScratch(ctx, async (dir) => {
          const content = randomContent(32);
          await ctx.driver.putContent(`${dir}/from/source`, content);
          await ctx.driver.move(`${dir}/from/source`, `${dir}/to/some/where/dest`);
          expect((await ctx.driver.getContent(`${dir}/to/some/where/dest`)).equals(content)).toBe(true);
          const gone = await expectDriverError(ctx.driver, ctx.driver.getContent(`${dir}/from/source`), PathNotFoundError);
          expect(gone.path).toBe(`${dir}/from/source`);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'replaces an existing destination',
      () =>
        inScratch(ctx, async (dir) => {
          const source = randomContent(32);
          await ctx.driver.putContent(`${dir}/source`, source);
          await ctx.driver.putContent(`${dir}/dest`, randomContent(64));
          await ctx.driver.move(`${dir}/source`, `${dir}/dest`);
          expect((await ctx.driver.getContent(`${dir}/dest`)).equals(source)).toBe(true);
          expect((await ctx.driver.stat(`${dir}/dest`)).size).toBe(32);
          await expectDriverError(ctx.driver, ctx.driver.getContent(`${dir}/source`), PathNotFoundError);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'moves a file written by a committed writer (the upload staging pattern), large enough to need several parts',
      () =>
        inScratch(ctx, async (dir) => {
          const content = randomContent(12 * 1024 * 1024 + 5);
          const writer = await ctx.driver.writer(`${dir}/uploads/1/data`, false);
          await writer.write(content);
          await writer.commit();
          await ctx.driver.move(`${dir}/uploads/1/data`, `${dir}/blobs/ab/data`);
          expect((await ctx.driver.getContent(`${dir}/blobs/ab/data`)).equals(content)).toBe(true);
          await expectDriverError(ctx.driver, ctx.driver.stat(`${dir}/uploads/1/data`), PathNotFoundError);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects moving a missing source with PathNotFoundError and leaves the destination untouched',
      () =>
        inScratch(ctx, async (dir) => {
          const content = randomContent(32);
          await ctx.driver.putContent(`${dir}/dest`, content);
          const error = await expectDriverError(ctx.driver, ctx.driver.move(`${dir}/missing`, `${dir}/dest`), PathNotFoundError);
          expect(error.path).toBe(`${dir}/missing`);
          expect((await ctx.driver.getContent(`${dir}/dest`)).equals(content)).toBe(true);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects moving from below a file (which cannot be a directory)',
      () =>
        inScratch(ctx, async (dir) => {
          await ctx.driver.putContent(`${dir}/notadir`, randomContent(32));
          await expectDriverError(ctx.driver, ctx.driver.move(`${dir}/notadir/foo`, `${dir}/notadir/bar`), PathNotFoundError);
        }),
      CASE_TIMEOUT_MS,
    );
  });

  describe('delete', () => {
    it(
      'deletes a file, leaving its siblings',
      () =>
        inScratch(ctx, async (dir) => {
          await ctx.driver.putContent(`${dir}/file`, randomContent(32));
          await ctx.driver.putContent(`${dir}/sibling`, randomContent(32));
          await ctx.driver.delete(`${dir}/file`);
          await expectDriverError(ctx.driver, ctx.driver.getContent(`${dir}/file`), PathNotFoundError);
          await expectDriverError(ctx.driver, ctx.driver.stat(`${dir}/file`), PathNotFoundError);
          expect(await ctx.driver.list(dir)).toEqual([`${dir}/sibling`]);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'deletes a whole directory tree',
      () =>
        inScratch(ctx, async (dir) => {
          const files = ['/tree/one', '/tree/two', '/tree/deep/er/three', '/tree/deep/four'];
          await settleAll(files.map((f) => ctx.driver.putContent(dir + f, randomContent(32))));
          await ctx.driver.putContent(`${dir}/kept`, randomContent(1));
          await ctx.driver.delete(`${dir}/tree`);
          for (const f of files) await expectDriverError(ctx.driver, ctx.driver.getContent(dir + f), PathNotFoundError);
          await expectDriverError(ctx.driver, ctx.driver.stat(`${dir}/tree`), PathNotFoundError);
          await expectDriverError(ctx.driver, ctx.driver.list(`${dir}/tree`), PathNotFoundError);
          expect(await ctx.driver.list(dir)).toEqual([`${dir}/kept`]);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'deletes only the path and what lies below it, never siblings that merely share its prefix',
      () =>
        inScratch(ctx, async (dir) => {
          const doomed = ['/a', '/x/y/a/file', '/x/y/a/deeper/file'];
          const kept = ['/ab', '/a-b', '/a.b', '/x/y/ab/file', '/x/y/a-b/file', '/x/y/a.b', '/x/y/abc'];
          await settleAll([...doomed, ...kept].map((f) => ctx.driver.putContent(dir + f, Buffer.from(f))));
          await ctx.driver.delete(`${dir}/a`);
          await ctx.driver.delete(`${dir}/x/y/a`);
          for (const f of doomed) await expectDriverError(ctx.driver, ctx.driver.getContent(dir + f), PathNotFoundError);
          for (const f of kept) expect((await ctx.driver.getContent(dir + f)).toString()).toBe(f);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects deleting a missing path with PathNotFoundError naming the driver',
      () =>
        inScratch(ctx, async (dir) => {
          const error = await expectDriverError(ctx.driver, ctx.driver.delete(`${dir}/missing`), PathNotFoundError);
          expect(error.path).toBe(`${dir}/missing`);
          await ctx.driver.putContent(`${dir}/file`, randomContent(1));
          await ctx.driver.delete(`${dir}/file`);
          await expectDriverError(ctx.driver, ctx.driver.delete(`${dir}/file`), PathNotFoundError);
        }),
      CASE_TIMEOUT_MS,
    );
  });
}
