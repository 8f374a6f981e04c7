import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { InMemoryDriver } from '@berth/driver-inmemory';
import { wrapDriver, type DriverOperation } from '@berth/storage-driver';
import {
  BlobUnknownError,
  BlobUploadUnknownError,
  Digest,
  DigestInvalidError,
  RangeInvalidError,
  Registry,
  SizeInvalidError,
  UploadHashCache,
  type UploadDigestQuery,
} from '@berth/registry';
import { allFiles, makeRegistry, readAll } from './helpers';

const body = (...chunks: Buffer[]) => Readable.from(chunks);

/** A body that yields `first` and then fails like an aborted request. */
function abortingBody(first: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(first);
      } else {
        this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      }
    },
  });
}

describe('UploadService', () => {
  it('stores session state under _uploads/<id> and reports its size', async () => {
    const { registry, driver } = makeRegistry();
    const repo = registry.repository('app/web');
    const session = await repo.uploads.start();
    expect(session.size).toBe(0);
    expect(await allFiles(driver)).toEqual([`/docker/registry/v2/repositories/app/web/_uploads/${session.id}/startedat`]);
    await repo.uploads.append(session.id, body(Buffer.from('hello ')));
    const status = await repo.uploads.append(session.id, body(Buffer.from('world')));
    expect(status.size).toBe(11);
    expect((await repo.uploads.status(session.id)).size).toBe(11);
  });

  it('commits verified content to blobs/…/data, links it and removes the session', async () => {
    const { registry, driver } = makeRegistry();
    const repo = registry.repository('app');
    const content = Buffer.from('hello world');
    const digest = Digest.fromBytes(content);
    const session = await repo.uploads.start();
    await repo.uploads.append(session.id, body(content.subarray(0, 4)));
    const blob = await repo.uploads.commit(session.id, digest, body(content.subarray(4)));
    expect(blob).toEqual({ digest, size: 11 });
    expect(await allFiles(driver)).toEqual([
      `/docker/registry/v2/blobs/sha256/${digest.hex.slice(0, 2)}/${digest.hex}/data`,
      `/docker/registry/v2/repositories/app/_layers/sha256/${digest.hex}/link`,
    ]);
    const link = await driver.getContent(`/docker/registry/v2/repositories/app/_layers/sha256/${digest.hex}/link`);
    expect(link.toString()).toBe(digest.toString());
    expect(await readAll(await repo.blobs.open(digest))).toEqual(content);
    await expect(repo.uploads.status(session.id)).rejects.toThrow(BlobUploadUnknownError);
  });

  it('rejects a wrong digest, removes the session and leaves nothing visible', async () => {
    const { registry, driver } = makeRegistry();
    const repo = registry.repository('app');
    const session = await repo.uploads.start();
    const wrong = Digest.fromBytes(Buffer.from('something else'));
    await expect(repo.uploads.commit(session.id, wrong, body(Buffer.from('content')))).rejects.toThrow(DigestInvalidError);
    await expect(repo.blobs.stat(wrong)).rejects.toThrow(BlobUnknownError);
    expect(await allFiles(driver)).toEqual([]);
  });

  it('keeps a blob invisible until its upload is committed', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const content = Buffer.from('not yet');
    const digest = Digest.fromBytes(content);
    const session = await repo.uploads.start();
    await repo.uploads.append(session.id, body(content));
    await expect(repo.blobs.stat(digest)).rejects.toThrow(BlobUnknownError);
    await repo.uploads.commit(session.id, digest);
    expect((await repo.blobs.stat(digest)).size).toBe(content.length);
  });

  it('refuses a chunk that does not start at the current size, telling the size', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const session = await repo.uploads.start();
    await repo.uploads.append(session.id, body(Buffer.from('12345')), { start: 0, length: 5 });
    const error = await repo.uploads.append(session.id, body(Buffer.from('x')), { start: 9 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeInvalidError);
    expect((error as RangeInvalidError).sizes.uploadSize).toBe(5);
    expect((await repo.uploads.status(session.id)).size).toBe(5);
  });

  it('rejects a chunk whose length differs from its announced range', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const session = await repo.uploads.start();
    await expect(repo.uploads.append(session.id, body(Buffer.from('abc')), { start: 0, length: 5 })).rejects.toThrow(SizeInvalidError);
  });

  it('serialises concurrent chunks to one session: the second sees the first one’s size', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const session = await repo.uploads.start();
    const results = await Promise.allSettled([
      repo.uploads.append(session.id, body(Buffer.from('aaaa')), { start: 0 }),
      repo.uploads.append(session.id, body(Buffer.from('bbbb')), { start: 0 }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await repo.uploads.status(session.id)).size).toBe(4);
  });

  it("checks a session by its startedat file's stat, never reading it into a driver's remembered contents", async () => {
    const read: string[] = [];
    const recording = new (class extends InMemoryDriver {
      override getContent(path: string): Promise<Buffer> {
        read.push(path);
        return super.getContent(path);
      }
    })();
    const repo = new Registry({ driver: wrapDriver(recording), deleteEnabled: true }).repository('app');
    const content = randomBytes(1000);
    const session = await repo.uploads.start();
    await repo.uploads.append(session.id, body(content.subarray(0, 400)));
    const status = await repo.uploads.status(session.id);
    await repo.uploads.commit(session.id, Digest.fromBytes(content), body(content.subarray(400)));
    expect(read.filter((path) => path.includes('/_uploads/'))).toEqual([]);
    // The file is written once, at the start: its modification time is the start time.
    expect(Math.abs(status.startedAt.getTime() - session.startedAt.getTime())).toBeLessThan(1000);
    await expect(repo.uploads.status(session.id)).rejects.toThrow(BlobUploadUnknownError);
  });

  it('is continued and committed by a second registry sharing the storage, re-hashing to verify', async () => {
    const operations: DriverOperation[] = [];
    const driver = wrapDriver(new InMemoryDriver(), { observe: (op) => operations.push(op) });
    const first = new Registry({ driver, deleteEnabled: false }).repository('app');
    const second = new Registry({ driver, deleteEnabled: false }).repository('app');
    const content = randomBytes(100_000);
    const digest = Digest.fromBytes(content);
    const session = await first.uploads.start();
    await first.uploads.append(session.id, body(content.subarray(0, 40_000)));
    await second.uploads.append(session.id, body(content.subarray(40_000, 70_000)), { start: 40_000 });
    await expect(second.uploads.commit(session.id, Digest.fromBytes(Buffer.from('x')), body(content.subarray(70_000)))).rejects.toThrow(
      DigestInvalidError,
    );
    expect(operations.filter((op) => op.action === 'Reader')).toHaveLength(1);

    const again = await first.uploads.start();
    await first.uploads.append(again.id, body(content.subarray(0, 50_000)));
    await second.uploads.commit(again.id, digest, body(content.subarray(50_000)));
    expect(await readAll(await first.blobs.open(digest))).toEqual(content);
  });

  it('takes the digest from the process that received the data when the final PUT reaches another one', async () => {
    const operations: DriverOperation[] = [];
    const driver = wrapDriver(new InMemoryDriver(), { observe: (op) => operations.push(op) });
    const firstHashes = new UploadHashCache();
    const asked: UploadDigestQuery[] = [];
    const peers = {
      digestOf: async (query: UploadDigestQuery) => {
        asked.push(query);
        return firstHashes.digestAt(query);
      },
    };
    const first = new Registry({ driver, deleteEnabled: false, hashCache: firstHashes }).repository('app');
    const second = new Registry({ driver, deleteEnabled: false, hashPeers: peers }).repository('app');
    const content = randomBytes(60_000);
    const session = await first.uploads.start();
    await first.uploads.append(session.id, body(content));
    await second.uploads.commit(session.id, Digest.fromBytes(content));
    expect(asked).toEqual([{ id: session.id, algorithm: 'sha256', size: 60_000 }]);
    expect(operations.filter((op) => op.action === 'Reader')).toHaveLength(0);
    expect(await readAll(await second.blobs.open(Digest.fromBytes(content)))).toEqual(content);

    // A wrong digest is still refused with the peer's answer, and nothing becomes visible.
    const readsBefore = operations.filter((op) => op.action === 'Reader').length;
    const other = await first.uploads.start();
    const small = content.subarray(0, 1000);
    await first.uploads.append(other.id, body(small));
    await expect(second.uploads.commit(other.id, Digest.fromBytes(content))).rejects.toThrow(DigestInvalidError);
    expect(operations.filter((op) => op.action === 'Reader')).toHaveLength(readsBefore);
    await expect(second.blobs.stat(Digest.fromBytes(small))).rejects.toThrow(BlobUnknownError);
  });

  it('re-hashes from storage when no peer holds a hash covering every stored byte', async () => {
    const operations: DriverOperation[] = [];
    const driver = wrapDriver(new InMemoryDriver(), { observe: (op) => operations.push(op) });
    const firstHashes = new UploadHashCache();
    const peers = { digestOf: async (query: UploadDigestQuery) => firstHashes.digestAt(query) };
    const first = new Registry({ driver, deleteEnabled: false, hashCache: firstHashes }).repository('app');
    const second = new Registry({ driver, deleteEnabled: false, hashPeers: peers }).repository('app');
    const content = randomBytes(30_000);
    const session = await first.uploads.start();
    await first.uploads.append(session.id, body(content.subarray(0, 10_000)));
    // The second chunk reaches the second process: the first one's state covers 10,000 bytes only.
    await second.uploads.append(session.id, body(content.subarray(10_000)), { start: 10_000 });
    await second.uploads.commit(session.id, Digest.fromBytes(content));
    expect(operations.filter((op) => op.action === 'Reader')).toHaveLength(1);
  });

  it('answers no peer while a chunk of the session is still streaming in', async () => {
    const hashes = new UploadHashCache();
    const repo = new Registry({ driver: wrapDriver(new InMemoryDriver()), deleteEnabled: false, hashCache: hashes }).repository('app');
    const session = await repo.uploads.start();
    await repo.uploads.append(session.id, body(Buffer.from('hello')));
    const chunk = new PassThrough();
    const appended = repo.uploads.append(session.id, chunk);
    chunk.write(Buffer.from(' wor'));
    // Turn by turn until the append has taken ' wor' from the stream, however many turns its storage calls take.
    for (let turns = 0; chunk.readableLength > 0 && turns < 10_000; turns++) await new Promise((resolve) => setImmediate(resolve));
    expect(chunk.readableLength).toBe(0);
    // The hash has taken in ' wor' but the session still holds 5 bytes: no answer for either size.
    expect(hashes.digestAt({ id: session.id, algorithm: 'sha256', size: 5 })).toBeUndefined();
    expect(hashes.digestAt({ id: session.id, algorithm: 'sha256', size: 9 })).toBeUndefined();
    chunk.end(Buffer.from('ld'));
    await appended;
    expect(hashes.digestAt({ id: session.id, algorithm: 'sha256', size: 11 })).toBe(Digest.fromBytes(Buffer.from('hello world')).hex);
  });

  it('answers a peer from a hash state without disturbing it', async () => {
    const hashes = new UploadHashCache();
    const repo = new Registry({ driver: wrapDriver(new InMemoryDriver()), deleteEnabled: false, hashCache: hashes }).repository('app');
    const session = await repo.uploads.start();
    await repo.uploads.append(session.id, body(Buffer.from('hello')));
    const expected = Digest.fromBytes(Buffer.from('hello')).hex;
    expect(hashes.digestAt({ id: session.id, algorithm: 'sha256', size: 5 })).toBe(expected);
    expect(hashes.digestAt({ id: session.id, algorithm: 'sha256', size: 4 })).toBeUndefined();
    expect(hashes.digestAt({ id: session.id, algorithm: 'sha512', size: 5 })).toBeUndefined();
    expect(hashes.digestAt({ id: 'unknown', algorithm: 'sha256', size: 5 })).toBeUndefined();
    // The state survives the questions: the session goes on hashing where it was.
    await repo.uploads.append(session.id, body(Buffer.from(' world')));
    expect(hashes.digestAt({ id: session.id, algorithm: 'sha256', size: 11 })).toBe(Digest.fromBytes(Buffer.from('hello world')).hex);
  });

  it('verifies from the streaming hash without re-reading when one process saw every byte', async () => {
    const operations: DriverOperation[] = [];
    const driver = wrapDriver(new InMemoryDriver(), { observe: (op) => operations.push(op) });
    const repo = new Registry({ driver, deleteEnabled: false }).repository('app');
    const content = randomBytes(50_000);
    const session = await repo.uploads.start();
    await repo.uploads.append(session.id, body(content.subarray(0, 10_000)));
    await repo.uploads.commit(session.id, Digest.fromBytes(content), body(content.subarray(10_000)));
    expect(operations.filter((op) => op.action === 'Reader')).toHaveLength(0);
  });

  it('commits sha512 blobs, re-hashing when the session streamed sha256', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const content = randomBytes(3000);
    const digest = Digest.fromBytes(content, 'sha512');
    const session = await repo.uploads.start();
    await repo.uploads.append(session.id, body(content));
    await repo.uploads.commit(session.id, digest);
    expect((await repo.blobs.stat(digest)).size).toBe(3000);
    const announced = await repo.uploads.start({ algorithm: 'sha512' });
    await expect(repo.uploads.commit(announced.id, digest, body(content))).resolves.toEqual({ digest, size: 3000 });
  });

  it('commits the empty blob', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const digest = Digest.fromBytes(Buffer.alloc(0));
    const session = await repo.uploads.start();
    await repo.uploads.commit(session.id, digest);
    expect(await repo.blobs.stat(digest)).toEqual({ digest, size: 0 });
    expect(await readAll(await repo.blobs.open(digest))).toEqual(Buffer.alloc(0));
  });

  it('stays resumable after the request body fails half-way', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const content = randomBytes(20_000);
    const session = await repo.uploads.start();
    await expect(repo.uploads.append(session.id, abortingBody(content.subarray(0, 8000)))).rejects.toThrow(/aborted/);
    const { size } = await repo.uploads.status(session.id);
    expect(size).toBeLessThanOrEqual(8000);
    await repo.uploads.commit(session.id, Digest.fromBytes(content), body(content.subarray(size)), { start: size });
    expect(await readAll(await repo.blobs.open(Digest.fromBytes(content)))).toEqual(content);
  });

  it('cancels a session: its data is gone and it is unknown afterwards', async () => {
    const { registry, driver } = makeRegistry();
    const repo = registry.repository('app');
    const session = await repo.uploads.start();
    await repo.uploads.append(session.id, body(Buffer.from('partial')));
    await repo.uploads.cancel(session.id);
    expect(await allFiles(driver)).toEqual([]);
    await expect(repo.uploads.status(session.id)).rejects.toThrow(BlobUploadUnknownError);
    await expect(repo.uploads.cancel(session.id)).rejects.toThrow(BlobUploadUnknownError);
  });

  it('does not know sessions of another repository or malformed ids', async () => {
    const { registry } = makeRegistry();
    const session = await registry.repository('one').uploads.start();
    await expect(registry.repository('two').uploads.status(session.id)).rejects.toThrow(BlobUploadUnknownError);
    await expect(registry.repository('one').uploads.status('../../etc')).rejects.toThrow(BlobUploadUnknownError);
  });

  it('keeps one consistent blob when many sessions push the same content at once', async () => {
    const { registry, driver } = makeRegistry();
    const content = randomBytes(64 * 1024);
    const digest = Digest.fromBytes(content);
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const repo = registry.repository(`team/repo${i % 3}`);
        const session = await repo.uploads.start();
        await repo.uploads.append(session.id, body(content.subarray(0, 1000)));
        await repo.uploads.commit(session.id, digest, body(content.subarray(1000)));
      }),
    );
    for (const name of ['team/repo0', 'team/repo1', 'team/repo2']) {
      expect(await readAll(await registry.repository(name).blobs.open(digest))).toEqual(content);
    }
    expect((await allFiles(driver)).filter((f) => f.includes('/_uploads/'))).toEqual([]);
    expect((await allFiles(driver)).filter((f) => f.startsWith('/docker/registry/v2/blobs/'))).toHaveLength(1);
  });
});
