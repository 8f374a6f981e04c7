import { Registry, type PolicyRule } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';
import { pushImage, pushIndex } from './gc-support';
import { pushBlob } from './helpers';
import { policyBackends } from './policies-support';

function registryOver(driver: StorageDriver, policies: PolicyRule[] = [], usageMaxAgeMs?: number): Registry {
  return new Registry({ driver, deleteEnabled: true, policies, usageMaxAgeMs });
}

const size = (text: string): number => Buffer.byteLength(text);

describe.each(policyBackends)('storage usage on $name', (backend) => {
  const maybe = backend.skipReason ? it.skip : it;
  let driver: StorageDriver;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    ({ driver, dispose } = await backend.create());
  });
  afterEach(async () => dispose());

  maybe('counts each referenced blob once per repository, unique bytes apart, and the total once', async () => {
    const registry = registryOver(driver);
    const a = registry.repository('team/a');
    const b = registry.repository('b');
    const one = await pushImage(a, { layers: ['shared layer', 'only in a'], config: 'config-1', tag: 'v1' });
    // Same layer again in another image of the same repository: counted once.
    const two = await pushImage(a, { layers: ['shared layer'], config: 'config-2', tag: 'v2' });
    await a.manifests.put({ tag: 'also-v2' }, two.content);
    const three = await pushImage(b, { layers: ['shared layer'], config: 'config-3', tag: 'latest' });

    const report = await registry.usage();
    const byName = Object.fromEntries(report.repositories.map((r) => [r.name, r]));
    const aBytes = one.content.length + two.content.length + size('config-1') + size('config-2') + size('shared layer') + size('only in a');
    expect(byName['team/a']).toEqual({
      name: 'team/a',
      bytes: aBytes,
      uniquebytes: aBytes - size('shared layer'),
      tags: 3,
      manifests: 2,
    });
    const bBytes = three.content.length + size('config-3') + size('shared layer');
    expect(byName.b).toEqual({ name: 'b', bytes: bBytes, uniquebytes: bBytes - size('shared layer'), tags: 1, manifests: 1 });
    expect(report.total).toEqual({ repositories: 2, bytes: aBytes + bBytes - size('shared layer'), tags: 4, manifests: 3 });
  });

  maybe('counts the children of an index and the index itself', async () => {
    const registry = registryOver(driver);
    const repo = registry.repository('multi');
    const amd = await pushImage(repo, { layers: ['amd64 layer'], config: 'amd' });
    const arm = await pushImage(repo, { layers: ['arm64 layer'], config: 'arm' });
    const index = await pushIndex(repo, [amd, arm], 'v1');
    const [usage] = (await registry.usage()).repositories;
    expect(usage).toMatchObject({ name: 'multi', tags: 1, manifests: 3 });
    expect(usage?.bytes).toBe(
      index.content.length + amd.content.length + arm.content.length + size('amd') + size('arm') + size('amd64 layer') + size('arm64 layer'),
    );
  });

  maybe("follows this process's pushes and deletes at once, and another process's once the report is older than its bound", async () => {
    const registry = registryOver(driver, [], 60_000);
    const other = registryOver(driver, [], 60_000);
    const repo = registry.repository('app');
    const image = await pushImage(repo, { layers: ['first'], config: 'c1', tag: 'v1' });
    expect((await registry.usage()).total.manifests).toBe(1);
    const second = await pushImage(repo, { layers: ['second'], config: 'c2', tag: 'v2' });
    expect((await registry.usage()).total).toMatchObject({ manifests: 2, tags: 2 });
    await repo.manifests.delete({ digest: second.digest });
    expect((await registry.usage()).total).toMatchObject({ manifests: 1, tags: 1 });

    // The other process learns of this one's writes when it lists again (here: a fresh report).
    expect((await other.usage()).total.manifests).toBe(1);
    await repo.manifests.delete({ digest: image.digest });
    const fresh = registryOver(driver, [], 0);
    // The repository may remain listed (filesystem keeps its empty directories), with nothing in it.
    expect((await fresh.usage()).total).toMatchObject({ bytes: 0, tags: 0, manifests: 0 });
  });

  maybe('answers from the cache once listed, and lists every repository again in the background when older than usageMaxAgeMs', async () => {
    const registry = registryOver(driver, [], 0);
    const writer = registryOver(driver);
    expect((await registry.usage()).repositories).toEqual([]);
    await pushImage(writer.repository('elsewhere'), { layers: ['x'], config: 'cx', tag: 't' });
    // Each report starts a listing when the last one is older than the bound (0 here) and answers
    // without waiting for it: another process's push shows within a few reports.
    let names: string[] = [];
    for (let i = 0; i < 200 && names.length === 0; i++) {
      names = (await registry.usage()).repositories.map((r) => r.name);
      if (names.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(names).toEqual(['elsewhere']);
  });

  maybe('answers an empty registry with no repositories and zero totals', async () => {
    const report = await registryOver(driver).usage();
    expect(report.repositories).toEqual([]);
    expect(report.total).toEqual({ repositories: 0, bytes: 0, tags: 0, manifests: 0 });
    expect(Number.isNaN(Date.parse(report.refreshedAt))).toBe(false);
  });

  maybe('does not count a blob pushed but referenced by no manifest', async () => {
    const registry = registryOver(driver);
    const repo = registry.repository('app');
    const image = await pushImage(repo, { layers: ['referenced'], config: 'cfg', tag: 'v1' });
    await pushBlob(repo, 'loose');
    const [usage] = (await registry.usage()).repositories;
    expect(usage?.bytes).toBe(image.content.length + size('cfg') + size('referenced'));
  });
});
