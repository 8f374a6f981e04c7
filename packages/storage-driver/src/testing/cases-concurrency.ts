import { randomInt } from 'node:crypto';
import { CASE_TIMEOUT_MS, hashStream, inScratch, randomContent, readAll, settleAll, sha256, streamOf, type SuiteContext } from './context';

const WRITERS = 16;
const READERS = 16;

export function concurrencyCases(ctx: SuiteContext): void {
  describe('concurrency', () => {
    it(
      `runs ${WRITERS} resumable writers to distinct paths alongside ${READERS} readers of one file, all with correct contents`,
      () =>
        inScratch(ctx, async (dir) => {
          const shared = randomContent(2 * 1024 * 1024 + 1);
          await ctx.driver.putContent(`${dir}/shared`, shared);
          const sharedHash = sha256(shared);

          const write = async (i: number): Promise<[string, Buffer]> => {
            const path = `${dir}/writers/${i}/data`;
            const head = randomContent(100_000 + i * 1000);
            const tail = randomContent(50_000 + i);
            const writer = await ctx.driver.writer(path, false);
            await writer.write(streamOf(head, 16 * 1024));
            await writer.close();
            const resumed = await ctx.driver.writer(path, true);
            expect(resumed.size).toBe(head.length);
            await resumed.write(tail);
            await resumed.commit();
            return [path, Buffer.concat([head, tail])];
          };
          const read = async (i: number): Promise<void> => {
            if (i % 2 === 0) {
              const whole = await hashStream(await ctx.driver.reader(`${dir}/shared`, 0));
              expect(whole.sha256).toBe(sharedHash);
              return;
            }
            const offset = randomInt(shared.length);
            const part = await readAll(await ctx.driver.reader(`${dir}/shared`, offset));
            expect(part.equals(shared.subarray(offset))).toBe(true);
          };

          const writes = Array.from({ length: WRITERS }, (_, i) => write(i));
          await settleAll([...writes, ...Array.from({ length: READERS }, (_, i) => read(i))]);
          const written = await Promise.all(writes);
          for (const [path, expected] of written) {
            expect(sha256(await ctx.driver.getContent(path))).toBe(sha256(expected));
          }
          expect((await ctx.driver.list(`${dir}/writers`)).length).toBe(WRITERS);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'serves many parallel small puts and gets of distinct paths',
      () =>
        inScratch(ctx, async (dir) => {
          const contents = Array.from({ length: 64 }, (_, i) => randomContent(1 + i * 37));
          await settleAll(contents.map((content, i) => ctx.driver.putContent(`${dir}/small/${i}`, content)));
          const read = await Promise.all(contents.map((_, i) => ctx.driver.getContent(`${dir}/small/${i}`)));
          read.forEach((content, i) => expect(content.equals(contents[i])).toBe(true));
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      'keeps every read of a path complete while it is overwritten again and again',
      () =>
        inScratch(ctx, async (dir) => {
          const path = `${dir}/hot`;
          const versions = [Buffer.alloc(64 * 1024, 0x61), Buffer.alloc(128 * 1024, 0x62), Buffer.alloc(1, 0x63)];
          await ctx.driver.putContent(path, versions[0]);
          let writing = true;
          const writes = (async () => {
            try {
              for (let i = 1; i <= 30; i++) await ctx.driver.putContent(path, versions[i % versions.length]);
            } finally {
              writing = false;
            }
          })();
          const reads = Array.from({ length: 4 }, async () => {
            do {
              const seen = await ctx.driver.getContent(path);
              expect(versions.some((v) => v.equals(seen))).toBe(true);
            } while (writing);
          });
          // Wait for every loop, so that a failed reader cannot leave the writer running past cleanup.
          await settleAll([writes, ...reads]);
        }),
      CASE_TIMEOUT_MS,
    );
  });
}
