import { createInMemoryDriver } from '@berth/driver-inmemory';
import type { StorageDriver } from '@berth/storage-driver';
import { BlobUnknownError, Digest } from '@berth/registry';
import { DescriptorCache } from '../src/descriptor-cache';
import { makeRegistry, pushBlob, readAll } from './helpers';

/** An in-memory driver that counts `stat` calls on blob data (`blobs/…/data`). */
function countingDriver(): { driver: StorageDriver; blobStats: () => number } {
  const memory = createInMemoryDriver();
  let stats = 0;
  const driver: StorageDriver = {
    ...memory,
    stat: (path: string) => {
      if (path.includes('/blobs/') && path.endsWith('/data')) stats++;
      return memory.stat(path);
    },
  };
  return { driver, blobStats: () => stats };
}

describe('DescriptorCache', () => {
  it('drops the least recently used digest beyond its size', () => {
    const cache = new DescriptorCache(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.size]).toEqual([1, 3, 2]);
  });

  it('keeps every digest when its size is 0', () => {
    const cache = new DescriptorCache(0);
    for (let i = 0; i < 100; i++) cache.set(String(i), i);
    expect(cache.size).toBe(100);
  });
});

describe('the blob descriptor cache (storage.cache.blobdescriptor)', () => {
  it('answers a blob stat without the driver once it has seen the blob, and asks again for one it evicted', async () => {
    const { driver, blobStats } = countingDriver();
    const { registry } = makeRegistry({ driver, blobDescriptorCacheSize: 2 });
    const repo = registry.repository('app');
    const [a, b, c] = [await pushBlob(repo, 'a'), await pushBlob(repo, 'bb'), await pushBlob(repo, 'ccc')];
    const statsOf = async (digests: Digest[]): Promise<number> => {
      const before = blobStats();
      for (const digest of digests) await repo.blobs.stat(digest);
      return blobStats() - before;
    };
    expect(await statsOf([a, b])).toBe(2);
    expect(await statsOf([a, b, a])).toBe(0);
    // c evicts the least recently used, b.
    expect(await statsOf([c])).toBe(1);
    expect(await statsOf([a, c])).toBe(0);
    expect(await statsOf([b])).toBe(1);
    expect((await repo.blobs.stat(c)).size).toBe(3);
  });

  it('asks the driver on every stat without a cache', async () => {
    const { driver, blobStats } = countingDriver();
    const { registry } = makeRegistry({ driver });
    const repo = registry.repository('app');
    const a = await pushBlob(repo, 'a');
    const before = blobStats();
    for (let i = 0; i < 3; i++) await repo.blobs.stat(a);
    expect(blobStats() - before).toBe(3);
  });

  it('still checks that the blob is linked in the repository', async () => {
    const { registry } = makeRegistry({ blobDescriptorCacheSize: 10 });
    const a = await pushBlob(registry.repository('app'), 'a');
    await registry.repository('app').blobs.stat(a);
    await expect(registry.repository('other').blobs.stat(a)).rejects.toThrow(BlobUnknownError);
  });

  it('stores the data again when a blob it remembers was removed from storage and is pushed anew', async () => {
    const { driver } = countingDriver();
    const { registry } = makeRegistry({ driver, blobDescriptorCacheSize: 10 });
    const repo = registry.repository('app');
    const a = await pushBlob(repo, 'remembered');
    await repo.blobs.stat(a);
    // What garbage collection does to an unreferenced blob: unlinked, then its data deleted.
    await repo.blobs.delete(a);
    await driver.delete(`/docker/registry/v2/blobs/sha256/${a.hex.slice(0, 2)}/${a.hex}`);
    await pushBlob(repo, 'remembered');
    expect((await repo.blobs.stat(a)).size).toBe(10);
    expect((await readAll(await repo.blobs.open(a))).toString()).toBe('remembered');
  });
});
