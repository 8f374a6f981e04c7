import { Digest, NameUnknownError, PaginationNumberInvalidError } from '@berth/registry';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import type { StorageDriver, WalkFn } from '@berth/storage-driver';
import { imageManifest, makeRegistry, pushBlob } from './helpers';

describe('TagService', () => {
  it('lists tags lexically with n and an exclusive last', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    const bytes = await imageManifest(repo);
    for (const tag of ['b', 'a', 'C', 'c', '1.0', 'a1']) await repo.manifests.put({ tag }, bytes);
    expect((await repo.tags.list()).items).toEqual(['1.0', 'C', 'a', 'a1', 'b', 'c']);
    expect(await repo.tags.list({ n: 2 })).toEqual({ items: ['1.0', 'C'], more: true });
    expect(await repo.tags.list({ n: 2, last: 'C' })).toEqual({ items: ['a', 'a1'], more: true });
    expect(await repo.tags.list({ n: 2, last: 'a1' })).toEqual({ items: ['b', 'c'], more: false });
    expect(await repo.tags.list({ last: 'b' })).toEqual({ items: ['c'], more: false });
    expect(await repo.tags.list({ n: 0 })).toEqual({ items: [], more: false });
  });

  it('rejects a negative or fractional n', async () => {
    const { registry } = makeRegistry();
    await expect(registry.repository('app').tags.list({ n: -1 })).rejects.toThrow(PaginationNumberInvalidError);
    await expect(registry.repository('app').tags.list({ n: 1.5 })).rejects.toThrow(PaginationNumberInvalidError);
  });

  it('answers NAME_UNKNOWN for a repository without manifests, [] for one whose tags are all gone', async () => {
    const { registry } = makeRegistry();
    const repo = registry.repository('app');
    await pushBlob(repo, 'only a blob');
    await expect(repo.tags.list()).rejects.toThrow(NameUnknownError);
    const bytes = await imageManifest(repo);
    await repo.manifests.put({ digest: Digest.fromBytes(bytes) }, bytes);
    expect((await repo.tags.list()).items).toEqual([]);
  });

  it('lowers an n above maxTags to maxTags and tells that more tags follow', async () => {
    const { registry } = makeRegistry({ maxTags: 2 });
    const repo = registry.repository('app');
    const bytes = await imageManifest(repo);
    for (const tag of ['a', 'b', 'c', 'd']) await repo.manifests.put({ tag }, bytes);
    expect(await repo.tags.list({ n: 5 })).toEqual({ items: ['a', 'b'], more: true });
    expect(await repo.tags.list({ n: 5, last: 'b' })).toEqual({ items: ['c', 'd'], more: false });
    expect(await repo.tags.list({ n: 1 })).toEqual({ items: ['a'], more: true });
    // Without n, every tag (distribution 3 applies maxtags only to an n).
    expect(await repo.tags.list()).toEqual({ items: ['a', 'b', 'c', 'd'], more: false });
  });

  it.each([1, 3])('reads at most tagConcurrencyLimit=%i tag links at once when a manifest delete looks up its tags', async (limit) => {
    const memory = createInMemoryDriver();
    let inFlight = 0;
    let most = 0;
    const driver: StorageDriver = {
      ...memory,
      getContent: async (path: string) => {
        if (!path.endsWith('/current/link')) return memory.getContent(path);
        most = Math.max(most, ++inFlight);
        try {
          // Let every other read the service started begin before this one ends.
          for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
          return await memory.getContent(path);
        } finally {
          inFlight--;
        }
      },
    };
    const { registry } = makeRegistry({ driver, tagConcurrencyLimit: limit });
    const repo = registry.repository('app');
    const [kept, deleted] = [await imageManifest(repo, {}, 'kept'), await imageManifest(repo, {}, 'deleted')];
    for (let i = 0; i < 8; i++) await repo.manifests.put({ tag: `k${i}` }, kept);
    for (let i = 0; i < 4; i++) await repo.manifests.put({ tag: `d${i}` }, deleted);
    most = 0;
    await repo.manifests.delete({ digest: Digest.fromBytes(deleted) });
    expect(most).toBe(limit);
    expect((await repo.tags.list()).items).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
  });

  it('leaves the tag on one of the digests when updated concurrently, with both in its index', async () => {
    const { registry, driver } = makeRegistry();
    const repo = registry.repository('app');
    const manifests = await Promise.all(['x', 'y', 'z'].map((layer) => imageManifest(repo, {}, layer)));
    const digests = manifests.map((m) => Digest.fromBytes(m).toString());
    await Promise.all(manifests.map((m) => repo.manifests.put({ tag: 'latest' }, m)));
    const current = (await repo.tags.resolve('latest')).toString();
    expect(digests).toContain(current);
    expect((await repo.manifests.get({ tag: 'latest' })).digest.toString()).toBe(current);
    const index = await driver.list('/docker/registry/v2/repositories/app/_manifests/tags/latest/index/sha256');
    expect(index).toHaveLength(3);
  });
});

describe.each([
  ['listing directory by directory', false],
  ['walking a driver whose walk is flat', true],
])('Registry.catalog, %s', (_how, walksFlat) => {
  async function populated() {
    const walked: string[] = [];
    const memory = createInMemoryDriver();
    const driver = walksFlat
      ? { ...memory, walksFlat: true, walk: (path: string, visit: WalkFn) => memory.walk(path, (info) => (walked.push(info.path), visit(info))) }
      : memory;
    const { registry } = makeRegistry({ catalogMaxEntries: 5, driver });
    for (const name of ['b', 'a/b/c', 'a', 'a-b', 'a/b', 'z/y']) {
      const repo = registry.repository(name);
      await repo.manifests.put({ tag: 'v1' }, await imageManifest(repo));
    }
    await pushBlob(registry.repository('blobs/only'), 'x');
    return Object.assign(registry, { walked });
  }

  it('lists repositories holding manifests, nested names included, in lexical order', async () => {
    const registry = await populated();
    expect(await registry.catalog({ n: 5 })).toEqual({ items: ['a', 'a-b', 'a/b', 'a/b/c', 'b'], more: true });
    expect(await registry.catalog({ n: 5, last: 'b' })).toEqual({ items: ['z/y'], more: false });
    expect(await registry.catalog({ n: 0 })).toEqual({ items: [], more: false });
    if (walksFlat) {
      // The walk found `_manifests` and never looked below a `_` directory (no link files).
      expect(registry.walked).toContain('/docker/registry/v2/repositories/a/b/_manifests');
      expect(registry.walked.filter((path) => /\/_[a-z]+\//.test(path))).toEqual([]);
    }
  });

  it('lists a registry of 40 repositories whole (on a flat-walking driver: the walk gives up after 100 entries and the catalog lists directory by directory)', async () => {
    const walked: string[] = [];
    const listed: string[] = [];
    const memory = createInMemoryDriver();
    const driver = walksFlat
      ? {
          ...memory,
          walksFlat: true,
          walk: (path: string, visit: WalkFn) => memory.walk(path, (info) => (walked.push(info.path), visit(info))),
          list: (path: string) => (listed.push(path), memory.list(path)),
        }
      : memory;
    const { registry } = makeRegistry({ driver });
    const names = Array.from({ length: 40 }, (_, i) => `team/app-${String(i).padStart(2, '0')}`);
    for (const name of names) {
      const repo = registry.repository(name);
      await repo.manifests.put({ tag: 'v1' }, await imageManifest(repo));
    }
    expect(await registry.catalog({ n: 100 })).toEqual({ items: names, more: false });
    if (walksFlat) {
      expect(walked.length).toBe(101);
      expect(listed).toContain('/docker/registry/v2/repositories/team');
    }
  });

  it('returns at most 100 entries without n and rejects n above catalogMaxEntries', async () => {
    const registry = await populated();
    expect((await registry.catalog()).items).toHaveLength(5);
    await expect(registry.catalog({ n: 6 })).rejects.toThrow(PaginationNumberInvalidError);
  });

  it('is empty for empty storage', async () => {
    const { registry } = makeRegistry();
    expect(await registry.catalog()).toEqual({ items: [], more: false });
  });
});
