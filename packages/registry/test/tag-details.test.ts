import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { s3DriverFactory } from '@berth/driver-s3';
import { NameUnknownError, Registry } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { pushBlob } from './helpers';
import { pushImage } from './gc-support';

/** `TagService.details`: every tag with its digest and push time, in one call, on every driver. */

const drivers: { name: string; skipReason?: string; create(): Promise<{ driver: StorageDriver; dispose(): Promise<void> }> }[] = [
  { name: 'inmemory', create: async () => ({ driver: createInMemoryDriver(), dispose: async () => undefined }) },
  {
    name: 'filesystem',
    create: async () => {
      const root = await mkdtemp(join(tmpdir(), 'berth-tag-details-'));
      const driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
      return { driver, dispose: () => rm(root, { recursive: true, force: true }) };
    },
  },
  {
    name: `s3 (${s3SkipReason() ?? describeS3Server()})`,
    skipReason: s3SkipReason(),
    create: async () => {
      const driver = await s3DriverFactory.create(s3TestParameters('tag-details')!, {});
      return {
        driver,
        dispose: async () => {
          for (const path of await driver.list('/').catch(() => [])) await driver.delete(path);
          await driver.close?.();
        },
      };
    },
  },
];

for (const backend of drivers) {
  const suite = backend.skipReason ? describe.skip : describe;
  if (backend.skipReason) console.warn(`!!! SKIPPED: tag details on ${backend.name}`);

  suite(`TagService.details on ${backend.name}`, () => {
    let driver: StorageDriver;
    let dispose: () => Promise<void>;
    let registry: Registry;

    beforeEach(async () => {
      ({ driver, dispose } = await backend.create());
      registry = new Registry({ driver, deleteEnabled: true });
    });
    afterEach(() => dispose());

    it('lists every tag sorted with the digest it points at now, also after a tag moved to another image and back', async () => {
      const repo = registry.repository('team/app');
      const one = await pushImage(repo, { layers: ['one'], tag: 'moved' });
      const two = await pushImage(repo, { layers: ['two'], tag: 'b' });
      await repo.manifests.put({ tag: 'moved' }, two.content);
      await repo.manifests.put({ tag: 'moved' }, one.content);
      await repo.manifests.put({ tag: 'a' }, two.content);
      const details = await repo.tags.details();
      expect(details.map((d) => [d.tag, d.digest.toString()])).toEqual([
        ['a', two.digest.toString()],
        ['b', two.digest.toString()],
        ['moved', one.digest.toString()],
      ]);
      for (const d of details) expect(Number.isFinite(d.pushed.getTime())).toBe(true);
    });

    it('gives a later push a push time no earlier than an earlier one, and leaves out a deleted tag', async () => {
      const repo = registry.repository('app');
      const image = await pushImage(repo, { layers: ['layer'], tag: 'first' });
      await repo.manifests.put({ tag: 'second' }, image.content);
      await repo.manifests.put({ tag: 'gone' }, image.content);
      await repo.manifests.delete({ tag: 'gone' });
      const [first, second] = await repo.tags.details();
      expect([first?.tag, second?.tag]).toEqual(['first', 'second']);
      expect(second!.pushed.getTime()).toBeGreaterThanOrEqual(first!.pushed.getTime());
    });

    it('Registry.repositories lists every repository, nested names too, sorted, in one call', async () => {
      for (const name of ['zeta', 'team/app', 'team/app/sub', 'alpha']) await pushImage(registry.repository(name), { layers: [name], tag: 'v1' });
      expect(await registry.repositories()).toEqual(['alpha', 'team/app', 'team/app/sub', 'zeta']);
    });

    it('answers [] for a repository whose tags are all deleted and NAME_UNKNOWN for one without manifests', async () => {
      const repo = registry.repository('app');
      await pushImage(repo, { layers: ['layer'], tag: 'only' });
      await repo.manifests.delete({ tag: 'only' });
      expect(await repo.tags.details()).toEqual([]);
      const bare = registry.repository('bare');
      await pushBlob(bare, 'a blob only');
      await expect(bare.tags.details()).rejects.toThrow(NameUnknownError);
    });
  });
}
