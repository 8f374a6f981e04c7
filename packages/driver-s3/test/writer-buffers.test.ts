import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Driver } from '@berth/driver-s3';
import { describeS3Server, s3SkipReason } from '../../../test-support/s3';
import { PartBufferPool, partBufferPoolOf } from '../src/part-buffers';
import { S3FileWriter } from '../src/writer';
import { createRawTestDriver, destroyTestDriver, type TestDriver } from './helpers';

const MIB = 1024 * 1024;
/** S3's smallest part size, so that several parts stay cheap. */
const CHUNK = 5 * MIB;
const skipReason = s3SkipReason();
const describeS3 = skipReason ? describe.skip : describe;
if (skipReason) console.warn(`!!! SKIPPED: s3 writer buffer tests: ${skipReason}`);

/** A stream over `content` in odd-sized chunks that tells how far it was read. */
function sourceOf(content: Buffer, chunk = 256 * 1024 + 7, failAt?: number) {
  let offset = 0;
  const waiters = new Set<{ bytes: number; resolve: (reached: boolean) => void }>();
  const stream = new Readable({
    read() {
      if (failAt !== undefined && offset >= failAt) return void this.destroy(new Error('client went away'));
      if (offset >= content.length) return void this.push(null);
      const end = Math.min(content.length, offset + chunk, failAt ?? Infinity);
      this.push(content.subarray(offset, end));
      offset = end;
      for (const waiter of waiters) if (offset >= waiter.bytes) waiter.resolve(true);
    },
  });
  return {
    stream,
    pulled: () => offset,
    /** Resolves true once `bytes` were read, false when that did not happen within `ms`. */
    reached(bytes: number, ms: number): Promise<boolean> {
      if (offset >= bytes) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter = { bytes, resolve: (reached: boolean) => (waiters.delete(waiter), resolve(reached)) };
        waiters.add(waiter);
        setTimeout(() => waiter.resolve(false), ms).unref();
      });
    },
  };
}

interface UploadPartInput {
  readonly Key: string;
  readonly UploadId: string;
  readonly PartNumber: number;
}

/** Runs `around` for every UploadPart the client sends; `send` sends it to S3 unchanged. */
function aroundUploadParts(client: S3Client, name: string, around: (input: UploadPartInput, send: () => Promise<unknown>) => Promise<unknown>) {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'UploadPartCommand') return next(args);
      return (await around(args.input as UploadPartInput, () => next(args))) as Awaited<ReturnType<typeof next>>;
    },
    { step: 'initialize', name },
  );
  return () => client.middlewareStack.remove(name);
}

/** A real pool that also records how its budget was used. */
class ObservedPool extends PartBufferPool {
  maxLent = 0;
  maxLentWithSpare = 0;
  sparesLent = 0;
  sparesRefused = 0;

  override acquire(): Buffer {
    const buffer = super.acquire();
    this.maxLent = Math.max(this.maxLent, this.lentCount);
    return buffer;
  }

  override tryAcquireSpare(): Buffer | undefined {
    const spare = super.tryAcquireSpare();
    if (spare) {
      this.sparesLent++;
      this.maxLentWithSpare = Math.max(this.maxLentWithSpare, this.lentCount);
    } else {
      this.sparesRefused++;
    }
    return spare;
  }
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describeS3(`s3 writer part buffers (${skipReason ?? describeS3Server()})`, () => {
  let raw: S3Driver;
  let driver: TestDriver;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  beforeAll(() => {
    ({ raw, driver } = createRawTestDriver('buffers', { chunksize: CHUNK }));
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    await sleep(10); // a rejection nobody handled is reported after the microtasks ran out
    expect(unhandled).toEqual([]);
    expect(partBufferPoolOf(raw.ctx).lentCount).toBe(0);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await destroyTestDriver(driver);
  });

  const partSizes = async (path: string) => {
    const key = raw.ctx.key(path);
    const uploads = (await raw.client.send(new ListMultipartUploadsCommand({ Bucket: raw.ctx.bucket, Prefix: key }))).Uploads ?? [];
    const out = await raw.client.send(new ListPartsCommand({ Bucket: raw.ctx.bucket, Key: key, UploadId: uploads[0]?.UploadId }));
    return (out.Parts ?? []).map((p) => [p.PartNumber, p.Size]);
  };

  it('reads the next part from the source while the previous UploadPart is in flight, one part at a time, in order', async () => {
    const path = '/overlap/data';
    const content = randomBytes(3 * CHUNK + 100);
    const source = sourceOf(content);
    const started: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let readWhilePart1WasHeld: boolean | undefined;
    const remove = aroundUploadParts(raw.client, 'overlap', async (input, send) => {
      started.push(input.PartNumber);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        // Part 1 goes to S3 only once the whole of part 2 was read (or after 5 s without that).
        if (input.PartNumber === 1) readWhilePart1WasHeld = await source.reached(2 * CHUNK, 5_000);
        return await send();
      } finally {
        inFlight--;
      }
    });
    try {
      const writer = await driver.writer(path, false);
      expect(await writer.write(source.stream)).toBe(content.length);
      expect(writer.size).toBe(content.length);
      await writer.close();
    } finally {
      remove();
    }
    expect(readWhilePart1WasHeld).toBe(true);
    expect(maxInFlight).toBe(1);
    expect(started).toEqual([1, 2, 3]);
    expect(await partSizes(path)).toEqual([
      [1, CHUNK],
      [2, CHUNK],
      [3, CHUNK],
    ]);
    const resumed = await driver.writer(path, true);
    expect(resumed.size).toBe(content.length);
    await resumed.commit();
    expect(sha256(await driver.getContent(path))).toBe(sha256(content));
    await driver.delete('/overlap');
  }, 120_000);

  it('lends concurrent writers a second buffer only while every buffer lent fits the budget', async () => {
    const pool = new ObservedPool(CHUNK, 4 * CHUNK);
    const contents = [0, 1, 2].map(() => randomBytes(3 * CHUNK + 1));
    const writers: S3FileWriter[] = [];
    for (const [i, content] of contents.entries()) {
      const writer = await S3FileWriter.open(raw.ctx, `/budget/${i}`, false, pool);
      await writer.write(content.subarray(0, CHUNK - 1)); // now each holds its first, full-size buffer
      writers.push(writer);
    }
    expect(pool.lentCount).toBe(3);
    // Parts wait until all three writers asked for a spare: one gets it, the budget refuses the others.
    const asked = async () => {
      for (let waited = 0; pool.sparesLent + pool.sparesRefused < 3 && waited < 5_000; waited += 5) await sleep(5);
    };
    const remove = aroundUploadParts(raw.client, 'budget', async (_input, send) => {
      await asked();
      return send();
    });
    try {
      await Promise.all(writers.map((writer, i) => writer.write(sourceOf(contents[i].subarray(CHUNK - 1)).stream)));
      await Promise.all(writers.map((writer) => writer.commit()));
    } finally {
      remove();
    }
    expect(pool.sparesLent).toBeGreaterThanOrEqual(1);
    expect(pool.sparesRefused).toBeGreaterThanOrEqual(2);
    expect(pool.maxLentWithSpare).toBeLessThanOrEqual(4);
    expect(pool.maxLent).toBeLessThanOrEqual(4);
    expect(pool.lentCount).toBe(0);
    expect(pool.idleCount).toBeLessThanOrEqual(4);
    for (const [i, content] of contents.entries()) expect(sha256(await driver.getContent(`/budget/${i}`))).toBe(sha256(content));
    await driver.delete('/budget');
  }, 120_000);

  it('takes no pooled buffer for a 1 KiB object and gives pooled buffers back on commit, close and cancel', async () => {
    const pool = partBufferPoolOf(raw.ctx);
    const small = await driver.writer('/return/small', false);
    await small.write(randomBytes(1024));
    expect(pool.lentCount).toBe(0);
    await small.commit();
    for (const finish of ['commit', 'close', 'cancel'] as const) {
      const writer = await driver.writer(`/return/${finish}`, false);
      await writer.write(sourceOf(randomBytes(2 * CHUNK + 3 * MIB)).stream);
      // The spare went back at the end of write; the buffer holding the unsent 3 MiB stays.
      expect(pool.lentCount).toBe(1);
      await writer[finish]();
      expect(pool.lentCount).toBe(0);
    }
    await driver.delete('/return');
  }, 120_000);

  it('waits for the part in flight when the source fails, so that the session resumes after it', async () => {
    const path = '/sourcefails/data';
    const content = randomBytes(3 * CHUNK);
    const writer = await driver.writer(path, false);
    await expect(writer.write(sourceOf(content, 256 * 1024 + 7, 2 * CHUNK + MIB).stream)).rejects.toThrow(/client went away/);
    expect(partBufferPoolOf(raw.ctx).lentCount).toBe(0);
    await writer.close();
    const resumed = await driver.writer(path, true);
    expect(resumed.size).toBe(2 * CHUNK);
    await resumed.write(content.subarray(2 * CHUNK));
    await resumed.commit();
    expect(sha256(await driver.getContent(path))).toBe(sha256(content));
    await driver.delete('/sourcefails');
  }, 120_000);

  it('fails the writer when the UploadPart in flight fails, stops reading soon after and gives its buffers back', async () => {
    const path = '/partfails/data';
    const source = sourceOf(randomBytes(8 * CHUNK));
    // The upload is aborted (for real, on the server) just before part 1 is sent: RGW answers NoSuchUpload.
    const remove = aroundUploadParts(raw.client, 'partfails', async (input, send) => {
      if (input.PartNumber === 1) {
        await raw.client.send(new AbortMultipartUploadCommand({ Bucket: raw.ctx.bucket, Key: input.Key, UploadId: input.UploadId }));
      }
      return send();
    });
    const writer = await driver.writer(path, false);
    try {
      await expect(writer.write(source.stream)).rejects.toThrow();
    } finally {
      remove();
    }
    expect(source.pulled()).toBeLessThan(3 * CHUNK);
    expect(partBufferPoolOf(raw.ctx).lentCount).toBe(0);
    await expect(writer.write(Buffer.from('more'))).rejects.toThrow(/failed/);
    await writer.cancel();
    await expect(driver.stat(path)).rejects.toThrow();
  }, 120_000);

  it.each([
    ['exactly chunksize', CHUNK],
    ['chunksize + 1', CHUNK + 1],
    ['2 × chunksize − 1', 2 * CHUNK - 1],
    ['2 × chunksize', 2 * CHUNK],
    ['3 × chunksize + 1', 3 * CHUNK + 1],
  ])('stores %s bytes written in two calls byte for byte, in ⌈size / chunksize⌉ parts', async (_name, size) => {
    const path = `/sizes/${size}`;
    const content = randomBytes(size);
    const writer = await driver.writer(path, false);
    await writer.write(content.subarray(0, 777_777));
    await writer.write(sourceOf(content.subarray(777_777), 100_003).stream);
    expect(writer.size).toBe(size);
    await writer.commit();
    const read = await driver.getContent(path);
    expect(read.length).toBe(size);
    expect(sha256(read)).toBe(sha256(content));
    const head = await raw.client.send(new HeadObjectCommand({ Bucket: raw.ctx.bucket, Key: raw.ctx.key(path) }));
    expect(head.ETag).toMatch(new RegExp(`-${Math.ceil(size / CHUNK)}"$`));
    await driver.delete('/sizes');
  }, 120_000);
});
