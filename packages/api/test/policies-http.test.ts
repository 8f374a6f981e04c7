import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { s3DriverFactory } from '@berth/driver-s3';
import { KeyedMutex, type PolicyRule } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { errorCode, imageManifest, putManifest, pushBlob, sha256, useHarness, type DriverUnderTest } from './support/harness';

let s3Prefixes = 0;
const drivers: DriverUnderTest[] = [
  { name: 'inmemory', create: async () => ({ driver: createInMemoryDriver(), dispose: async () => undefined }) },
  {
    name: 'filesystem',
    create: async () => {
      const root = await mkdtemp(join(tmpdir(), 'berth-api-policies-'));
      const driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
      return { driver, dispose: () => rm(root, { recursive: true, force: true }) };
    },
  },
  {
    name: `s3 (${s3SkipReason() ?? describeS3Server()})`,
    skipReason: s3SkipReason(),
    create: async () => {
      const driver: StorageDriver = await s3DriverFactory.create(s3TestParameters(`api-policies-${process.pid}-${s3Prefixes++}`)!, {});
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

const POLICIES: PolicyRule[] = [
  { repositories: ['prod/**'], immutableTags: ['v*', 'release-*'], quota: 2000 },
  { repositories: ['small'], immutableTags: [], quota: 600 },
];

describe.each(drivers)('policies over HTTP on $name', (dut) => {
  const maybe = dut.skipReason ? it.skip : it;
  const harness = useHarness(dut, { policies: POLICIES });

  maybe('GET /v2/_berth/usage answers each repository and the total as JSON', async () => {
    const { app } = harness;
    const bytes = await imageManifest(app, 'team/app');
    await putManifest(app, 'team/app', 'v1', bytes);
    const res = await request(app).get('/v2/_berth/usage').expect(200).expect('Content-Type', 'application/json');
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', seed: 'layer' });
    const expected = bytes.length + Buffer.byteLength(config) + Buffer.byteLength('layer bytes');
    expect(res.body.repositories).toEqual([{ name: 'team/app', bytes: expected, uniquebytes: expected, tags: 1, manifests: 1 }]);
    expect(res.body.total).toEqual({ repositories: 1, bytes: expected, tags: 1, manifests: 1 });
  });

  maybe('refuses to move an immutable tag with 403 DENIED naming the rule, and accepts the identical re-push', async () => {
    const { app } = harness;
    const first = await imageManifest(app, 'prod/web', {}, 'one');
    const digest = await putManifest(app, 'prod/web', 'v1.0', first);
    await putManifest(app, 'prod/web', 'v1.0', first);
    const other = await imageManifest(app, 'prod/web', {}, 'two');
    const res = await request(app)
      .put('/v2/prod/web/manifests/v1.0')
      .set('Content-Type', 'application/vnd.oci.image.manifest.v1+json')
      .send(String(other))
      .expect(403);
    expect(errorCode(res)).toBe('DENIED');
    expect(res.body.errors[0].message).toContain('policies.0.immutabletags "v*"');
    const current = await request(app).get('/v2/prod/web/manifests/v1.0').expect(200);
    expect(current.headers['docker-content-digest']).toBe(digest);
    // A mutable tag of the same repository moves freely.
    await putManifest(app, 'prod/web', 'latest', first);
    await putManifest(app, 'prod/web', 'latest', other);
  });

  maybe('refuses to delete an immutable tag or the manifest it points at, and deletes what no immutable tag holds', async () => {
    const { app } = harness;
    const held = await imageManifest(app, 'prod/web', {}, 'held');
    const digest = await putManifest(app, 'prod/web', 'release-1', held);
    expect(errorCode(await request(app).delete('/v2/prod/web/manifests/release-1').expect(403))).toBe('DENIED');
    expect(errorCode(await request(app).delete(`/v2/prod/web/manifests/${digest}`).expect(403))).toBe('DENIED');
    await request(app).get('/v2/prod/web/manifests/release-1').expect(200);
    const free = await imageManifest(app, 'prod/web', {}, 'free');
    const freeDigest = await putManifest(app, 'prod/web', 'dev', free);
    await request(app).delete(`/v2/prod/web/manifests/${freeDigest}`).expect(202);
  });

  maybe('refuses a blob upload that would take the repository over its quota, before linking it', async () => {
    const { app } = harness;
    const big = Buffer.alloc(700, 1);
    const res = await request(app)
      .post(`/v2/small/blobs/uploads/?digest=${sha256(big)}`)
      .set('Content-Type', 'application/octet-stream')
      .send(big)
      .expect(403);
    expect(errorCode(res)).toBe('DENIED');
    expect(res.body.errors[0].message).toMatch(/policies\.1\.quota 600 bytes.*uses 0 bytes/);
    await request(app).head(`/v2/small/blobs/${sha256(big)}`).expect(404);
  });

  maybe('refuses a manifest whose new blobs exceed the quota, and still accepts content already counted', async () => {
    const { app } = harness;
    const first = await imageManifest(app, 'small', {}, 'first');
    await putManifest(app, 'small', 'a', first);
    const used = (await request(app).get('/v2/_berth/usage').expect(200)).body.total.bytes as number;
    // Blobs that alone fit, together with a manifest that does not.
    const filler = 'x'.repeat(600 - used - 50);
    await pushBlob(app, 'small', filler);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: JSON.parse(first.toString()).config,
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(filler), size: filler.length }],
      }),
    );
    const res = await request(app).put('/v2/small/manifests/b').set('Content-Type', 'application/vnd.oci.image.manifest.v1+json').send(String(manifest)).expect(403);
    expect(errorCode(res)).toBe('DENIED');
    expect(res.body.errors[0].message).toContain(`uses ${used} bytes`);
    await request(app).get('/v2/small/manifests/b').expect(404);
    // Re-tagging and re-pushing counted content is never refused.
    await putManifest(app, 'small', 'a', first);
    await putManifest(app, 'small', 'again', first);
  });

  maybe('lets one of two concurrent pushes that each fit but not together through, on processes sharing the host lock', async () => {
    const manifests = await Promise.all([imageManifest(harness.app, 'race', {}, 'a'), imageManifest(harness.app, 'race', {}, 'b')]);
    const footprint = (m: Buffer): number => {
      const json = JSON.parse(m.toString()) as { config: { size: number }; layers: Array<{ size: number }> };
      return m.length + json.config.size + json.layers.reduce((sum, l) => sum + l.size, 0);
    };
    // Each push fits alone; both do not.
    const quota = Math.max(...manifests.map(footprint)) + 10;
    const policies: PolicyRule[] = [{ repositories: ['race'], immutableTags: [], quota }];
    const locks = new KeyedMutex();
    const one = harness.makeApp({ uploadLocks: locks, policies });
    const two = harness.makeApp({ uploadLocks: locks, policies });
    const results = await Promise.all(
      [one, two].map((app, i) =>
        request(app)
          .put(`/v2/race/manifests/t${i}`)
          .set('Content-Type', 'application/vnd.oci.image.manifest.v1+json')
          .send(String(manifests[i])),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 403]);
    const usage = (await request(harness.makeApp()).get('/v2/_berth/usage').expect(200)).body.total.bytes as number;
    expect(usage).toBeLessThanOrEqual(quota);
  });
});
