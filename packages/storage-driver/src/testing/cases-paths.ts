import type { StorageDriver } from '../driver';
import { InvalidPathError } from '../errors';
import { CASE_TIMEOUT_MS, expectDriverError, inScratch, randomContent, type SuiteContext } from './context';

/** Path suffixes (appended to a scratch directory) that the grammar accepts. */
const VALID_SUFFIXES = [
  '/a',
  '/2',
  '/aa',
  '/a.a',
  '/0-9/abcdefg',
  '/abcdefg/z.75',
  '/abc/1.2.3.4.5-6_zyx/123.z/4',
  '/docker/docker-registry',
  '/123.abc',
  '/abc./abc',
  '/.abc',
  '/..abc',
  '/abc..',
  '/...',
  '/a--b',
  '/a-.b',
  '/_.abc',
  '/Docker/docker-registry',
  '/Abc/Cba',
  '/UPPER_lower-123.x',
];

/** Paths no method may accept (`/` is accepted by stat, list and walk only). */
const INVALID_PATHS = [
  '',
  'abc',
  '123.abc',
  'abc/def',
  '//bcd',
  '/abc//def',
  '/abc_123/',
  '/abc/',
  '/.',
  '/..',
  '/abc/.',
  '/abc/..',
  '/abc/./def',
  '/abc/../def',
  '/../etc/passwd',
  '/ab c',
  ' /abc',
  '/abc ',
  '/abc\n',
  '/abc\u0000',
  '/ab*c',
  '/ab:c',
  '/ab\\c',
  '/caf\u00e9',
];

type PathOperation = readonly [name: string, call: (driver: StorageDriver, path: string, dir: string) => Promise<unknown>];

/** Every method that takes a path, each given the bad path in one argument. */
const OPERATIONS: readonly PathOperation[] = [
  ['getContent', (d, p) => d.getContent(p)],
  ['putContent', (d, p) => d.putContent(p, Buffer.from('x'))],
  ['reader', (d, p) => d.reader(p, 0)],
  ['writer', (d, p) => d.writer(p, false)],
  ['writer (append)', (d, p) => d.writer(p, true)],
  ['stat', (d, p) => d.stat(p)],
  ['list', (d, p) => d.list(p)],
  ['move (source)', (d, p, dir) => d.move(p, `${dir}/target`)],
  ['move (destination)', (d, p, dir) => d.move(`${dir}/source`, p)],
  ['delete', (d, p) => d.delete(p)],
  ['redirectUrl', (d, p) => d.redirectUrl(p, 'GET')],
  ['walk', (d, p) => d.walk(p, () => undefined)],
];

/** Methods for which `/` (the root) is a valid argument. */
const ROOT_ALLOWED = new Set(['stat', 'list', 'walk']);

export function pathCases(ctx: SuiteContext): void {
  describe('paths', () => {
    it(
      'accepts every path of the grammar and round-trips content through it',
      () =>
        inScratch(ctx, async (dir) => {
          const contents = randomContent(64);
          for (const suffix of VALID_SUFFIXES) {
            const path = dir + suffix;
            await ctx.driver.putContent(path, contents);
            expect((await ctx.driver.getContent(path)).equals(contents)).toBe(true);
          }
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'accepts a file directly below the root',
      async () => {
        const path = ctx.scratchDir();
        try {
          await ctx.driver.putContent(path, Buffer.from('top level'));
          expect((await ctx.driver.getContent(path)).toString()).toBe('top level');
          expect(await ctx.driver.list('/')).toEqual([path]);
        } finally {
          await ctx.driver.delete(path);
        }
      },
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects malformed paths (empty, relative, `.`/`..`, doubled or trailing slashes, spaces, other characters) with InvalidPathError naming the driver, on every method',
      () =>
        inScratch(ctx, async (dir) => {
          for (const path of [...INVALID_PATHS, '/']) {
            for (const [name, call] of OPERATIONS) {
              if (path === '/' && ROOT_ALLOWED.has(name)) continue;
              const error = await expectDriverError(ctx.driver, call(ctx.driver, path, dir), InvalidPathError).catch(
                (failure: Error) => {
                  throw new Error(`${name}(${JSON.stringify(path)}): ${failure.message}`, { cause: failure });
                },
              );
              expect(error.path).toBe(path);
            }
          }
          expect(await ctx.driver.list('/')).toEqual([]);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'lists the root of an empty store as []',
      async () => {
        expect(await ctx.driver.list('/')).toEqual([]);
      },
      CASE_TIMEOUT_MS,
    );
  });
}
