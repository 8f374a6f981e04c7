import request from 'supertest';
import { canAbortMultipartUploads, s3DriverFactory } from '@berth/driver-s3';
import type { StorageDriver } from '@berth/storage-driver';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { describeApiSuite } from './support/api-suite';
import { appOptions, testApp, pushBlob } from './support/harness';

const skipReason = s3SkipReason();
if (!skipReason) console.log(`API suite on s3: ${describeS3Server()}`);

async function createS3Driver(prefix: string): Promise<{ driver: StorageDriver; dispose(): Promise<void> }> {
  const params = s3TestParameters(prefix);
  if (!params) throw new Error(`no S3 server: ${skipReason}`);
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

describeApiSuite({ name: 's3', skipReason, create: () => createS3Driver('api') });

(skipReason ? describe.skip : describe)('blob redirects on s3', () => {
  it('answers 307 to a presigned URL that serves the blob', async () => {
    const { driver, dispose } = await createS3Driver('api-redirect');
    try {
      const content = Buffer.from('served by S3 directly');
      const digest = await pushBlob(testApp(appOptions(driver)), 'app', content);
      const res = await request(testApp(appOptions(driver, { redirect: true }))).get(`/v2/app/blobs/${digest}`).expect(307);
      const direct = await fetch(res.headers.location);
      expect(direct.status).toBe(200);
      expect(Buffer.from(await direct.arrayBuffer()).equals(content)).toBe(true);
    } finally {
      await dispose();
    }
  });
});
