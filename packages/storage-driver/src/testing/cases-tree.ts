import type { FileInfo, WalkDecision } from '../driver';
import { PathNotFoundError } from '../errors';
import { CASE_TIMEOUT_MS, expectDriverError, inScratch, settleAll, type SuiteContext } from './context';

/**
 * Files of the walk and list fixtures, relative to a scratch directory. Names are chosen so that the
 * order of names (`a` < `a-b` < `a.b`) differs from the order of full keys (`a-b` < `a.b` < `a/1`),
 * and upper case, `_` and digits sort by code unit (`Z` < `_x` < `a`).
 */
const TREE: Readonly<Record<string, number>> = {
  '/a/1': 1,
  '/a/2': 2,
  '/a/sub/x': 3,
  '/a-b': 4,
  '/a.b': 5,
  '/b/c': 6,
  '/Z': 7,
  '/_x': 8,
  '/9': 9,
};

/** The full walk of TREE in contract order (depth first, directory before children, names sorted). */
const WALK_ORDER = ['/9', '/Z', '/_x', '/a', '/a/1', '/a/2', '/a/sub', '/a/sub/x', '/a-b', '/a.b', '/b', '/b/c'];
const DIRECTORIES = new Set(['/a', '/a/sub', '/b']);

/** A valid Date, from any realm (Node's fs creates Dates outside jest's sandbox, so no instanceof). */
function expectValidDate(value: unknown): void {
  expect(Object.prototype.toString.call(value)).toBe('[object Date]');
  expect(Number.isNaN((value as Date).getTime())).toBe(false);
}

async function putTree(ctx: SuiteContext, dir: string): Promise<void> {
  await settleAll(Object.entries(TREE).map(([rel, size]) => ctx.driver.putContent(dir + rel, Buffer.alloc(size, 0x41))));
}

async function walkPaths(ctx: SuiteContext, from: string, decide: (info: FileInfo) => WalkDecision = () => undefined): Promise<FileInfo[]> {
  const seen: FileInfo[] = [];
  await ctx.driver.walk(from, async (info) => {
    seen.push(info);
    await new Promise<void>((resolve) => setImmediate(resolve));
    return decide(info);
  });
  return seen;
}

export function treeCases(ctx: SuiteContext): void {
  describe('list, stat and walk', () => {
    it(
      'lists direct children (files and directories) as sorted full paths, at the root and below',
      () =>
        inScratch(ctx, async (dir) => {
          await putTree(ctx, dir);
          expect(await ctx.driver.list('/')).toEqual([dir]);
          expect(await ctx.driver.list(dir)).toEqual(['/9', '/Z', '/_x', '/a', '/a-b', '/a.b', '/b'].map((p) => dir + p));
          expect(await ctx.driver.list(`${dir}/a`)).toEqual([`${dir}/a/1`, `${dir}/a/2`, `${dir}/a/sub`]);
          expect(await ctx.driver.list(`${dir}/a/sub`)).toEqual([`${dir}/a/sub/x`]);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'lists a directory of many files completely',
      () =>
        inScratch(ctx, async (dir) => {
          const names = Array.from({ length: 120 }, (_, i) => `f${String(i).padStart(3, '0')}`);
          await settleAll(names.map((name) => ctx.driver.putContent(`${dir}/many/${name}`, Buffer.from(name))));
          expect(await ctx.driver.list(`${dir}/many`)).toEqual(names.map((name) => `${dir}/many/${name}`));
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects list of a missing path, and of a file, with PathNotFoundError naming the driver',
      () =>
        inScratch(ctx, async (dir) => {
          const missing = await expectDriverError(ctx.driver, ctx.driver.list(`${dir}/nonexistent`), PathNotFoundError);
          expect(missing.path).toBe(`${dir}/nonexistent`);
          await ctx.driver.putContent(`${dir}/file`, Buffer.from('x'));
          await expectDriverError(ctx.driver, ctx.driver.list(`${dir}/file`), PathNotFoundError);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'stats a file (path, size, recent modTime) and a directory (isDir, size 0)',
      () =>
        inScratch(ctx, async (dir) => {
          const before = Date.now();
          await ctx.driver.putContent(`${dir}/sub/file`, Buffer.alloc(4096, 1));
          const file = await ctx.driver.stat(`${dir}/sub/file`);
          expect(file).toMatchObject({ path: `${dir}/sub/file`, size: 4096, isDir: false });
          expectValidDate(file.modTime);
          // Object stores keep whole seconds and clocks drift a little: allow two minutes either way.
          expect(file.modTime.getTime()).toBeGreaterThanOrEqual(before - 120_000);
          expect(file.modTime.getTime()).toBeLessThanOrEqual(Date.now() + 120_000);

          for (const path of [`${dir}/sub`, dir]) {
            const info = await ctx.driver.stat(path);
            expect(info).toMatchObject({ path, size: 0, isDir: true });
            expectValidDate(info.modTime);
          }
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects stat of a missing path with PathNotFoundError naming the driver',
      () =>
        inScratch(ctx, async (dir) => {
          await expectDriverError(ctx.driver, ctx.driver.stat(dir), PathNotFoundError);
          await expectDriverError(ctx.driver, ctx.driver.stat(`${dir}/sub/file`), PathNotFoundError);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'walks depth first, a directory before its children, siblings in code-unit order of name, with sizes and kinds',
      () =>
        inScratch(ctx, async (dir) => {
          await putTree(ctx, dir);
          const seen = await walkPaths(ctx, dir);
          expect(seen.map((info) => info.path)).toEqual(WALK_ORDER.map((p) => dir + p));
          for (const info of seen) {
            const rel = info.path.slice(dir.length);
            expect(info.isDir).toBe(DIRECTORIES.has(rel));
            expect(info.size).toBe(DIRECTORIES.has(rel) ? 0 : TREE[rel]);
          }
          const fromRoot = await walkPaths(ctx, '/');
          expect(fromRoot.map((info) => info.path)).toEqual([dir, ...WALK_ORDER.map((p) => dir + p)]);
          const fromSub = await walkPaths(ctx, `${dir}/a`);
          expect(fromSub.map((info) => info.path)).toEqual(['/a/1', '/a/2', '/a/sub', '/a/sub/x'].map((p) => dir + p));
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      "skips a directory's children when the callback answers 'skipdir'",
      () =>
        inScratch(ctx, async (dir) => {
          await putTree(ctx, dir);
          const seen = await walkPaths(ctx, dir, (info) => (info.path === `${dir}/a` ? 'skipdir' : undefined));
          expect(seen.map((info) => info.path)).toEqual(WALK_ORDER.filter((p) => !p.startsWith('/a/')).map((p) => dir + p));
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      "stops the whole walk, and resolves, when the callback answers 'stop'",
      () =>
        inScratch(ctx, async (dir) => {
          await putTree(ctx, dir);
          const seen = await walkPaths(ctx, dir, (info) => (info.path === `${dir}/a/2` ? 'stop' : undefined));
          expect(seen.map((info) => info.path)).toEqual(WALK_ORDER.slice(0, WALK_ORDER.indexOf('/a/2') + 1).map((p) => dir + p));
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects walk of a missing path with PathNotFoundError naming the driver',
      () =>
        inScratch(ctx, async (dir) => {
          await expectDriverError(ctx.driver, ctx.driver.walk(`${dir}/missing`, () => undefined), PathNotFoundError);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'propagates an error thrown by the walk callback',
      () =>
        inScratch(ctx, async (dir) => {
          await putTree(ctx, dir);
          const walking = ctx.driver.walk(dir, () => {
            throw new Error('callback failed');
          });
          await expect(walking).rejects.toThrow('callback failed');
        }),
      CASE_TIMEOUT_MS,
    );
  });
}
