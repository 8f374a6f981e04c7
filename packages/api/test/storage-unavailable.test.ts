import request from 'supertest';
import { s3DriverFactory } from '@berth/driver-s3';
import type { StorageDriver } from '@berth/storage-driver';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { FaultyProxy } from '../../driver-s3/test/faulty-proxy';
import { appOptions, errorCode, pushBlob, sha256, testApp } from './support/harness';
import { freePort } from '../../../test-support/ports';

const skipReason = s3SkipReason();
const describeS3 = skipReason ? describe.skip : describe;

const DIGEST = sha256('absent');

/** s3 parameters for a store at `endpoint` (no bucket there: nothing ever answers for it). */
function unreachable(endpoint: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { bucket: 'nowhere', regionendpoint: endpoint, forcepathstyle: true, accesskey: 'AK', secretkey: 'SK', maxretries: 0, ...overrides };
}

/** Every storage-backed request answers 503 UNAVAILABLE (JSON; HEAD without a body). */
async function expectUnavailable(driver: StorageDriver): Promise<void> {
  const app = testApp(appOptions(driver));
  for (const [method, path] of [
    ['get', '/v2/app/manifests/latest'],
    ['get', `/v2/app/blobs/${DIGEST}`],
    ['get', '/v2/app/tags/list'],
    ['get', '/v2/_catalog'],
    ['post', '/v2/app/blobs/uploads/'],
  ] as const) {
    const res = await request(app)[method](path);
    expect({ path, status: res.status }).toEqual({ path, status: 503 });
    expect(errorCode(res)).toBe('UNAVAILABLE');
  }
  const head = await request(app).head(`/v2/app/blobs/${DIGEST}`);
  expect(head.status).toBe(503);
}

describe('API over an S3 store that cannot be reached', () => {
  it('answers 503 UNAVAILABLE from the first request when the store refuses connections', async () => {
    const driver = await s3DriverFactory.create(unreachable(`http://127.0.0.1:${await freePort()}`), {});
    try {
      await expectUnavailable(driver);
    } finally {
      await driver.close?.();
    }
  });

  it('answers 503 UNAVAILABLE after idletimeout when the store accepts connections and never answers', async () => {
    const silent = await FaultyProxy.start();
    const driver = await s3DriverFactory.create(unreachable(silent.endpoint, { idletimeout: '200ms' }), {});
    try {
      await expectUnavailable(driver);
    } finally {
      await driver.close?.();
      await silent.close();
    }
  });
});

describeS3(`API over a frozen S3 store (${skipReason ?? describeS3Server()})`, () => {
  it('answers 503 UNAVAILABLE while the store is frozen and serves the blob again once it thaws', async () => {
    const params = s3TestParameters('api-frozen') ?? {};
    const proxy = await FaultyProxy.start(String(params.regionendpoint));
    const driver = await s3DriverFactory.create({ ...params, regionendpoint: proxy.endpoint, maxretries: 0, idletimeout: '2s' }, {});
    try {
      const app = testApp(appOptions(driver));
      const digest = await pushBlob(app, 'app', 'stored before the stall');
      proxy.freeze();
      const res = await request(app).get(`/v2/app/blobs/${digest}`);
      expect(proxy.frozen).toBe(true);
      expect(res.status).toBe(503);
      expect(errorCode(res)).toBe('UNAVAILABLE');
      proxy.thaw();
      const again = await request(app).get(`/v2/app/blobs/${digest}`).expect(200);
      expect(String(again.body)).toBe('stored before the stall');
    } finally {
      proxy.heal();
      for (const path of await driver.list('/').catch(() => [])) await driver.delete(path);
      await driver.close?.();
      await proxy.close();
    }
  });
});
