import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { s3DriverFactory } from '@berth/driver-s3';
import type { StorageDriver } from '@berth/storage-driver';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import type { Backend } from './gc-support';

let s3Prefixes = 0;

/** The three drivers for the policies tests (S3 under a prefix of its own per driver created). */
export const policyBackends: Backend[] = [
  { name: 'inmemory', create: async () => ({ driver: createInMemoryDriver(), dispose: async () => undefined }) },
  {
    name: 'filesystem',
    create: async () => {
      const root = await mkdtemp(join(tmpdir(), 'berth-policies-'));
      const driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
      return { driver, dispose: () => rm(root, { recursive: true, force: true }) };
    },
  },
  {
    name: `s3 (${s3SkipReason() ?? describeS3Server()})`,
    skipReason: s3SkipReason(),
    create: async () => {
      const driver: StorageDriver = await s3DriverFactory.create(s3TestParameters(`policies-${process.pid}-${s3Prefixes++}`)!, {});
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
