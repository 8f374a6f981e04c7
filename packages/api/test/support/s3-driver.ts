import { canAbortMultipartUploads, s3DriverFactory } from '@berth/driver-s3';
import type { StorageDriver } from '@berth/storage-driver';
import { s3SkipReason, s3TestParameters } from '../../../../test-support/s3';

/** An s3 driver on the test server under a fresh root (parameters `overrides` replace), and how to empty and close it. */
export async function createS3Driver(prefix: string, overrides: Record<string, unknown> = {}): Promise<{ driver: StorageDriver; dispose(): Promise<void> }> {
  const params = s3TestParameters(prefix, overrides);
  if (!params) throw new Error(`no S3 server: ${s3SkipReason()}`);
  const driver = await s3DriverFactory.create(params, {});
  return {
    driver,
    dispose: async () => {
      try {
        if (canAbortMultipartUploads(driver)) await driver.abortMultipartUploads(new Date(Date.now() + 3_600_000));
        for (const path of await driver.list('/')) await driver.delete(path);
      } finally {
        await driver.close?.();
      }
    },
  };
}
