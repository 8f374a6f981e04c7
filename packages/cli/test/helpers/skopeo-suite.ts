import { startBerth, testConfig, type RunningBerth } from './berth';
import { expectPulledLayout, fetchTags } from './compare';
import { buildOciLayout, imageDigests, indexDigests, sha256Digest, type LayoutFixture } from './oci-layout';
import { cleanupAll, makeTempDir } from './processes';
import { skopeoCopy, skopeoDelete, skopeoInspectRaw, skopeoListTags } from './skopeo';

export interface SkopeoSuiteOptions {
  /** The `storage` section (driver parameters, with `delete.enabled: true` added by the suite). */
  readonly storage: () => Promise<Record<string, unknown>>;
  /** Also check that a second Berth on the same storage, with delete disabled, refuses deletes. */
  readonly checkDeleteDisabled?: boolean;
  /**
   * The driver gives redirect URLs (S3): blob GETs answer 307 to the storage, and a second Berth with
   * `storage.redirect.disable` streams them itself. Otherwise blob GETs answer 200 directly.
   */
  readonly redirects?: boolean;
}

/**
 * The skopeo round trip against one storage driver: push real OCI images (one single-arch with a
 * 20 MiB layer, one amd64+arm64 index) from an `oci:` layout to Berth, pull them back by tag and by
 * digest into new layouts, and compare every blob and manifest byte for byte. The tests of a suite
 * share one registry and run in order: pushes come before the pulls that read them.
 */
export function defineSkopeoSuite(options: SkopeoSuiteOptions): void {
  let fixture: LayoutFixture;
  let berth: RunningBerth;
  let storage: Record<string, unknown>;
  const ref = (path: string): string => `docker://${berth.hostPort}/${path}`;

  beforeAll(async () => {
    fixture = await buildOciLayout(await makeTempDir('layout'));
    storage = await options.storage();
    berth = await startBerth(testConfig({ ...storage, delete: { enabled: true } }));
  });

  afterAll(async () => {
    if (berth) {
      const status = await berth.stop();
      expect(status).toEqual({ code: 0, signal: null });
    }
    await cleanupAll();
  });

  it('pushes a single-arch image by tag and pulls it back byte-identical by tag', async () => {
    await skopeoCopy(`oci:${fixture.dir}:single`, ref('e2e/single:v1'));
    const out = await makeTempDir('pull');
    await skopeoCopy(ref('e2e/single:v1'), `oci:${out}:v1`);
    await expectPulledLayout(out, fixture.dir, imageDigests(fixture.single), 'v1', fixture.single.manifest.digest);
  });

  it('pulls the single-arch image back byte-identical by digest', async () => {
    const out = await makeTempDir('pull');
    await skopeoCopy(ref(`e2e/single@${fixture.single.manifest.digest}`), `oci:${out}:pinned`);
    await expectPulledLayout(out, fixture.dir, imageDigests(fixture.single), 'pinned', fixture.single.manifest.digest);
  });

  it('pushes a multi-arch index with --all and pulls every platform back byte-identical, by tag and by digest', async () => {
    await skopeoCopy(`oci:${fixture.dir}:multi`, ref('e2e/multi:v1'));
    const byTag = await makeTempDir('pull');
    await skopeoCopy(ref('e2e/multi:v1'), `oci:${byTag}:v1`);
    await expectPulledLayout(byTag, fixture.dir, indexDigests(fixture.multi), 'v1', fixture.multi.index.digest);
    const byDigest = await makeTempDir('pull');
    await skopeoCopy(ref(`e2e/multi@${fixture.multi.index.digest}`), `oci:${byDigest}:pinned`);
    await expectPulledLayout(byDigest, fixture.dir, indexDigests(fixture.multi), 'pinned', fixture.multi.index.digest);
  });

  it('serves the pushed manifest and index bytes to skopeo inspect --raw, by tag and by digest', async () => {
    expect((await skopeoInspectRaw(ref('e2e/single:v1'))).equals(fixture.single.manifestBytes)).toBe(true);
    expect((await skopeoInspectRaw(ref('e2e/multi:v1'))).equals(fixture.multi.indexBytes)).toBe(true);
    for (const image of fixture.multi.images) {
      expect((await skopeoInspectRaw(ref(`e2e/multi@${image.manifest.digest}`))).equals(image.manifestBytes)).toBe(true);
    }
  });

  it('lists the same tags to skopeo list-tags as /v2/<name>/tags/list', async () => {
    await skopeoCopy(ref('e2e/single:v1'), ref('e2e/single:v2'));
    const listed = await skopeoListTags(ref('e2e/single'));
    expect(listed).toEqual(['v1', 'v2']);
    expect(await fetchTags(berth.url, 'e2e/single')).toEqual(listed);
    expect(await skopeoListTags(ref('e2e/multi'))).toEqual(['v1']);
  });

  it('deletes an index with skopeo delete: it and its tag are gone, the other image of the repository stays', async () => {
    await skopeoCopy(`oci:${fixture.dir}:single`, ref('e2e/deletable:keep'));
    await skopeoCopy(`oci:${fixture.dir}:multi`, ref('e2e/deletable:drop'));
    expect(await skopeoListTags(ref('e2e/deletable'))).toEqual(['drop', 'keep']);

    await skopeoDelete(ref('e2e/deletable:drop'));

    expect(await skopeoListTags(ref('e2e/deletable'))).toEqual(['keep']);
    await expect(skopeoInspectRaw(ref(`e2e/deletable@${fixture.multi.index.digest}`))).rejects.toThrow(/manifest unknown|not found/i);
    const gone = await fetch(`${berth.url}/v2/e2e/deletable/manifests/${fixture.multi.index.digest}`);
    expect(gone.status).toBe(404);
    const out = await makeTempDir('pull');
    await skopeoCopy(ref('e2e/deletable:keep'), `oci:${out}:keep`);
    await expectPulledLayout(out, fixture.dir, imageDigests(fixture.single), 'keep', fixture.single.manifest.digest);
  });

  it(options.redirects ? 'answers a blob GET with a 307 to the storage, which serves the blob' : 'serves a blob GET itself', async () => {
    const layer = fixture.single.layers.reduce((a, b) => (b.size > a.size ? b : a));
    const response = await fetch(`${berth.url}/v2/e2e/single/blobs/${layer.digest}`, { redirect: 'manual' });
    let body: Response = response;
    if (options.redirects) {
      expect(response.status).toBe(307);
      const location = new URL(response.headers.get('location')!);
      expect(location.host).not.toBe(berth.hostPort);
      await response.arrayBuffer();
      body = await fetch(location);
    }
    expect(body.status).toBe(200);
    const bytes = Buffer.from(await body.arrayBuffer());
    expect({ size: bytes.length, digest: sha256Digest(bytes) }).toEqual({ size: layer.size, digest: layer.digest });
  });

  if (options.redirects) {
    it('streams blobs itself with storage.redirect.disable, pulled back byte-identical', async () => {
      const direct = await startBerth(testConfig({ ...storage, redirect: { disable: true } }));
      try {
        const layer = fixture.single.layers[0]!;
        expect((await fetch(`http://${direct.hostPort}/v2/e2e/single/blobs/${layer.digest}`, { redirect: 'manual' })).status).toBe(200);
        const out = await makeTempDir('pull');
        await skopeoCopy(`docker://${direct.hostPort}/e2e/single:v1`, `oci:${out}:v1`);
        await expectPulledLayout(out, fixture.dir, imageDigests(fixture.single), 'v1', fixture.single.manifest.digest);
      } finally {
        expect(await direct.stop()).toEqual({ code: 0, signal: null });
      }
    });
  }

  if (options.checkDeleteDisabled) {
    it('refuses skopeo delete when storage.delete.enabled is false, and the manifest stays', async () => {
      const readOnlyDeletes = await startBerth(testConfig({ ...storage, delete: { enabled: false } }));
      try {
        const reference = `docker://${readOnlyDeletes.hostPort}/e2e/single:v1`;
        await expect(skopeoDelete(reference)).rejects.toThrow(/405|unsupported|not allowed/i);
        expect((await skopeoInspectRaw(reference)).equals(fixture.single.manifestBytes)).toBe(true);
      } finally {
        expect(await readOnlyDeletes.stop()).toEqual({ code: 0, signal: null });
      }
    });
  }
}
