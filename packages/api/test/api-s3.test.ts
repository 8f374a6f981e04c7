import request from 'supertest';
import { describeS3Server, s3SkipReason } from '../../../test-support/s3';
import { describeApiSuite } from './support/api-suite';
import { appOptions, testApp, pushBlob } from './support/harness';
import { createS3Driver } from './support/s3-driver';

const skipReason = s3SkipReason();
if (!skipReason) console.log(`API suite on s3: ${describeS3Server()}`);

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

  it('answers 307 to a Signature Version 2 presigned URL that serves the blob when v4auth is false', async () => {
    const { driver, dispose } = await createS3Driver('api-redirect-sigv2', { v4auth: false });
    try {
      const content = Buffer.from('served by S3 directly, signed with v2');
      const digest = await pushBlob(testApp(appOptions(driver)), 'app', content);
      const res = await request(testApp(appOptions(driver, { redirect: true }))).get(`/v2/app/blobs/${digest}`).expect(307);
      expect(new URL(res.headers.location).searchParams.has('AWSAccessKeyId')).toBe(true);
      const direct = await fetch(res.headers.location);
      expect(direct.status).toBe(200);
      expect(Buffer.from(await direct.arrayBuffer()).equals(content)).toBe(true);
    } finally {
      await dispose();
    }
  });
});
