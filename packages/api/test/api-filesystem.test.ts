import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { describeApiSuite } from './support/api-suite';

describeApiSuite({
  name: 'filesystem',
  create: async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-api-'));
    const driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
    return {
      driver,
      dispose: async () => {
        await driver.close?.();
        await rm(root, { recursive: true, force: true });
      },
    };
  },
});
