import { PathNotFoundError } from '../errors';
import { CASE_TIMEOUT_MS, expectDriverError, inScratch, randomContent, readAll, type SuiteContext } from './context';

/** Every byte value once, plus bytes that are invalid as UTF-8 on their own. */
const BINARY = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from([0x80, 0x80, 0xff, 0xfe, 0xc3])]);

export function contentCases(ctx: SuiteContext): void {
  describe('getContent and putContent', () => {
    const samples: ReadonlyArray<readonly [string, () => Buffer]> = [
      ['one byte', () => Buffer.from('a')],
      ['a two-byte UTF-8 character', () => Buffer.from([0xc3, 0x9f])],
      ['non-UTF-8 bytes', () => Buffer.from([0x80, 0x80, 0x80, 0x80])],
      ['every byte value', () => BINARY],
      ['32 random bytes', () => randomContent(32)],
      ['1 MiB of random bytes', () => randomContent(1024 * 1024)],
      ['nothing (zero bytes)', () => Buffer.alloc(0)],
    ];
    for (const [label, make] of samples) {
      it(
        `round-trips ${label} through putContent, getContent, reader and stat`,
        () =>
          inScratch(ctx, async (dir) => {
            const path = `${dir}/file`;
            const content = make();
            await ctx.driver.putContent(path, content);
            expect((await ctx.driver.getContent(path)).equals(content)).toBe(true);
            expect((await readAll(await ctx.driver.reader(path))).equals(content)).toBe(true);
            const info = await ctx.driver.stat(path);
            expect(info).toMatchObject({ path, size: content.length, isDir: false });
          }),
        CASE_TIMEOUT_MS,
      );
    }

    it(
      'replaces the whole content on a second put, including with shorter content',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/overwritten`;
          await ctx.driver.putContent(path, randomContent(4096));
          const second = randomContent(2048);
          await ctx.driver.putContent(path, second);
          expect((await ctx.driver.getContent(path)).equals(second)).toBe(true);
          const third = Buffer.from('x');
          await ctx.driver.putContent(path, third);
          expect((await ctx.driver.getContent(path)).equals(third)).toBe(true);
          expect((await ctx.driver.stat(path)).size).toBe(1);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'keeps what was put even when the caller later changes its buffer',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/copied`;
          const buffer = Buffer.from('original');
          await ctx.driver.putContent(path, buffer);
          buffer.fill(0x21);
          expect((await ctx.driver.getContent(path)).toString()).toBe('original');
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'creates the missing parent directories of a put',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/one/two/three/file`;
          await ctx.driver.putContent(path, Buffer.from('deep'));
          expect((await ctx.driver.getContent(path)).toString()).toBe('deep');
          expect((await ctx.driver.stat(`${dir}/one/two`)).isDir).toBe(true);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects getContent and reader of a missing path with PathNotFoundError naming the driver',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/missing`;
          const error = await expectDriverError(ctx.driver, ctx.driver.getContent(path), PathNotFoundError);
          expect(error.path).toBe(path);
          await expectDriverError(ctx.driver, ctx.driver.reader(path, 0), PathNotFoundError);
          await expectDriverError(ctx.driver, ctx.driver.reader(path, 64), PathNotFoundError);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'rejects getContent and reader of a directory with PathNotFoundError (no file is there)',
      () =>
        inScratch(ctx, async (dir) => {
          await ctx.driver.putContent(`${dir}/sub/file`, Buffer.from('x'));
          await expectDriverError(ctx.driver, ctx.driver.getContent(`${dir}/sub`), PathNotFoundError);
          await expectDriverError(ctx.driver, ctx.driver.reader(`${dir}/sub`, 0), PathNotFoundError);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'answers redirectUrl with undefined, or with a URL that serves the content (GET) and its length (HEAD)',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/redirected`;
          const content = randomContent(32);
          await ctx.driver.putContent(path, content);
          const getUrl = await ctx.driver.redirectUrl(path, 'GET');
          if (getUrl === undefined) {
            expect(await ctx.driver.redirectUrl(path, 'HEAD')).toBeUndefined();
            return;
          }
          expect(typeof getUrl).toBe('string');
          const got = await fetch(getUrl);
          expect(got.status).toBe(200);
          expect(Buffer.from(await got.arrayBuffer()).equals(content)).toBe(true);
          const headUrl = await ctx.driver.redirectUrl(path, 'HEAD');
          expect(typeof headUrl).toBe('string');
          const head = await fetch(headUrl as string, { method: 'HEAD' });
          expect(head.status).toBe(200);
          expect(head.headers.get('content-length')).toBe(String(content.length));
        }),
      CASE_TIMEOUT_MS,
    );
  });
}
