import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDriverConformance } from '@berth/storage-driver/testing';
import { filesystemDriverFactory } from '@berth/driver-filesystem';

describeDriverConformance('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-fs-conformance-'));
  const driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
  return { driver, destroy: () => rm(root, { recursive: true, force: true }) };
});
