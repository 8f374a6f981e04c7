import request from 'supertest';
import { OCI_INDEX, OCI_MANIFEST, descriptor, errorCode, imageManifest, pushBlob, putManifest, sha256, useHarness, type DriverUnderTest } from './harness';
import { testUiAssets } from './ui-assets';

/** The web UI's JSON API (`/ui/api/…`) and pages (`/ui/`), on one driver. */
export function uiTests(dut: DriverUnderTest): void {
  const h = useHarness(dut, { ui: testUiAssets() });

  /** An image (amd64), an index over it and an arm64 image, and an SBOM referring to the image. */
  async function populate() {
    const image = await imageManifest(h.app, 'team/app', {}, 'amd64 layer');
    const imageDigest = await putManifest(h.app, 'team/app', 'v1', image);
    await putManifest(h.app, 'team/app', 'v1-again', image);
    const armConfig = JSON.stringify({ architecture: 'arm64', os: 'linux', variant: 'v8', config: { Entrypoint: ['/app'] } });
    await pushBlob(h.app, 'team/app', armConfig);
    await pushBlob(h.app, 'team/app', 'arm layer');
    const arm = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: descriptor('application/vnd.oci.image.config.v1+json', armConfig),
        layers: [descriptor('application/vnd.oci.image.layer.v1.tar+gzip', 'arm layer')],
      }),
    );
    const armDigest = await putManifest(h.app, 'team/app', sha256(arm), arm);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { ...descriptor(OCI_MANIFEST, image), platform: { os: 'linux', architecture: 'amd64' } },
          { ...descriptor(OCI_MANIFEST, arm), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        ],
      }),
    );
    const indexDigest = await putManifest(h.app, 'team/app', 'multi', index, OCI_INDEX);
    await pushBlob(h.app, 'team/app', '{}');
    await pushBlob(h.app, 'team/app', 'sbom payload');
    const sbom = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/spdx+json',
        config: descriptor('application/vnd.oci.empty.v1+json', '{}'),
        layers: [descriptor('application/spdx+json', 'sbom payload')],
        subject: { mediaType: OCI_MANIFEST, digest: imageDigest, size: image.length },
      }),
    );
    const sbomDigest = await putManifest(h.app, 'team/app', sha256(sbom), sbom);
    return { image, imageDigest, arm, armDigest, index, indexDigest, sbom, sbomDigest };
  }

  it('lists every repository, nested names too, sorted, in one request', async () => {
    for (const name of ['zeta', 'team/app', 'alpha', 'team/app/tools']) await putManifest(h.app, name, 'v1', await imageManifest(h.app, name));
    await pushBlob(h.app, 'blob-only', 'x');
    expect((await request(h.app).get('/ui/api/repositories').expect(200)).body).toEqual({ repositories: ['alpha', 'team/app', 'team/app/tools', 'zeta'] });
  });

  it('tells the storage usage below /ui/ as GET /v2/_berth/usage does', async () => {
    await populate();
    const usage = (await request(h.app).get('/ui/api/usage').expect(200)).body;
    expect(usage.repositories).toEqual([expect.objectContaining({ name: 'team/app', tags: 3, manifests: 4 })]);
    expect(usage).toEqual((await request(h.app).get('/v2/_berth/usage').expect(200)).body);
  });

  it('lists every tag with its digest, push time, size (manifest, config and layers) and platforms, the artifact type of an artifact', async () => {
    const pushed = await populate();
    const res = await request(h.app).get('/ui/api/repositories/team/app/tags').expect(200);
    expect(res.body.name).toBe('team/app');
    expect(res.body.canDelete).toBe(true);
    const tags = res.body.tags as { tag: string; digest: string; pushed: string; size: number; platforms: unknown[]; artifactType: string | null }[];
    expect(tags.map((t) => [t.tag, t.digest])).toEqual([
      ['multi', pushed.indexDigest],
      ['v1', pushed.imageDigest],
      ['v1-again', pushed.imageDigest],
    ]);
    for (const t of tags) expect(Number.isNaN(Date.parse(t.pushed))).toBe(false);
    const imageJson = JSON.parse(String(pushed.image)) as { config: { size: number }; layers: { size: number }[] };
    const imageSize = pushed.image.length + imageJson.config.size + imageJson.layers[0]!.size;
    expect(tags[1]).toMatchObject({ size: imageSize, mediaType: OCI_MANIFEST, artifactType: null, platforms: [{ os: 'linux', architecture: 'amd64' }] });
    expect(tags[0]!.platforms).toEqual([
      { os: 'linux', architecture: 'amd64', digest: pushed.imageDigest },
      { os: 'linux', architecture: 'arm64', variant: 'v8', digest: pushed.armDigest },
    ]);
    expect(tags[0]!.size).toBeGreaterThan(imageSize + pushed.index.length);
    await putManifest(h.app, 'team/app', 'sbom', pushed.sbom);
    const withSbom = (await request(h.app).get('/ui/api/repositories/team/app/tags').expect(200)).body.tags as { tag: string; artifactType: string | null; platforms: unknown[] }[];
    expect(withSbom.find((t) => t.tag === 'sbom')).toMatchObject({ artifactType: 'application/spdx+json', platforms: [] });
  });

  it('shows a manifest: an index with its platforms, an image with config, layers and referrers, a referrer with its subject', async () => {
    const pushed = await populate();
    const index = (await request(h.app).get('/ui/api/repositories/team/app/manifests/multi').expect(200)).body;
    expect(index).toMatchObject({ name: 'team/app', digest: pushed.indexDigest, mediaType: OCI_INDEX, tags: ['multi'], layers: [], subject: null, config: null });
    expect(index.children.map((c: { digest: string; platform: unknown }) => [c.digest, c.platform])).toEqual([
      [pushed.imageDigest, { os: 'linux', architecture: 'amd64' }],
      [pushed.armDigest, { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ]);
    const image = (await request(h.app).get(`/ui/api/repositories/team/app/manifests/${pushed.imageDigest}`).expect(200)).body;
    expect(image.tags.sort()).toEqual(['v1', 'v1-again']);
    expect(image.config).toMatchObject({ architecture: 'amd64', os: 'linux' });
    expect(image.layers).toEqual([{ digest: expect.stringMatching(/^sha256:/), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 'amd64 layer bytes'.length }]);
    expect(image.manifest).toEqual(JSON.parse(String(pushed.image)));
    expect(image.referrers).toEqual([expect.objectContaining({ digest: pushed.sbomDigest, artifactType: 'application/spdx+json' })]);
    const sbom = (await request(h.app).get(`/ui/api/repositories/team/app/manifests/${pushed.sbomDigest}`).expect(200)).body;
    expect(sbom).toMatchObject({ subject: pushed.imageDigest, artifactType: 'application/spdx+json', tags: [], referrers: [] });
  });

  it('answers a client mistake with the registry error, never a 500', async () => {
    await populate();
    expect(errorCode(await request(h.app).get('/ui/api/repositories/nobody/tags').expect(404))).toBe('NAME_UNKNOWN');
    expect(errorCode(await request(h.app).get('/ui/api/repositories/team/app/manifests/nope').expect(404))).toBe('MANIFEST_UNKNOWN');
    expect(errorCode(await request(h.app).get('/ui/api/repositories/team/app/manifests/sha256:00').expect(400))).toBe('DIGEST_INVALID');
    expect(errorCode(await request(h.app).get('/ui/api/repositories/Bad..Name/tags').expect(400))).toBe('NAME_INVALID');
    expect(errorCode(await request(h.app).get('/ui/api/nothing-here').expect(404))).toBe('NOT_FOUND');
    expect(errorCode(await request(h.app).post('/ui/api/repositories').expect(405))).toBe('UNSUPPORTED');
  });

  it('deletes a tag, then a manifest with every tag pointing at it; the registry API agrees', async () => {
    const pushed = await populate();
    await request(h.app).delete('/ui/api/repositories/team/app/manifests/v1-again').expect(202);
    expect((await request(h.app).get('/v2/team/app/tags/list').expect(200)).body.tags).toEqual(['multi', 'v1']);
    await request(h.app).delete(`/ui/api/repositories/team/app/manifests/${pushed.sbomDigest}`).expect(202);
    await request(h.app).get(`/v2/team/app/manifests/${pushed.sbomDigest}`).expect(404);
    expect((await request(h.app).get(`/ui/api/repositories/team/app/manifests/${pushed.imageDigest}`).expect(200)).body.referrers).toEqual([]);
  });

  it('offers no delete when the registry takes none: storage.delete off, read-only, and refuses the delete itself', async () => {
    await populate();
    for (const overrides of [{ deleteEnabled: false }, { readOnly: true }]) {
      const app = h.makeApp(overrides);
      expect((await request(app).get('/ui/api/repositories/team/app/tags').expect(200)).body.canDelete).toBe(false);
      expect((await request(app).get('/ui/api/repositories/team/app/manifests/v1').expect(200)).body.canDelete).toBe(false);
      expect(errorCode(await request(app).delete('/ui/api/repositories/team/app/manifests/v1').expect(405))).toBe('UNSUPPORTED');
      const session = (await request(app).get('/ui/api/session').expect(200)).body;
      expect([session.deleteEnabled, session.readOnly]).toEqual([overrides.deleteEnabled ?? true, overrides.readOnly ?? false]);
    }
  });

  it('tells the session: no user without auth, the pull host from http.host or else the Host header', async () => {
    expect((await request(h.app).get('/ui/api/session').set('Host', 'registry.example:5000').expect(200)).body).toEqual({
      user: null,
      auth: null,
      deleteEnabled: true,
      readOnly: false,
      pullThrough: false,
      host: 'registry.example:5000',
    });
    const behindProxy = h.makeApp({ host: 'https://public.example.com/' });
    expect((await request(behindProxy).get('/ui/api/session').expect(200)).body.host).toBe('public.example.com');
  });

  it('serves its pages below /ui/ with a strict content policy, and nothing outside its files', async () => {
    expect((await request(h.app).get('/ui').expect(301)).headers.location).toBe('/ui/');
    const page = await request(h.app).get('/ui/').expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.text).toContain('<script type="module" src="app.js">');
    expect((await request(h.app).get('/ui/app.js').expect(200)).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await request(h.app).get('/ui/css/app.css').expect(200)).headers['content-type']).toBe('text/css; charset=utf-8');
    for (const path of ['/ui/notes.txt', '/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/css/', '/ui/nothing.js']) {
      expect(errorCode(await request(h.app).get(path).expect(404))).toBe('NOT_FOUND');
    }
  });

  it('answers below http.prefix only, and not at all when the UI is off', async () => {
    const prefixed = h.makeApp({ prefix: '/mirror/' });
    await request(prefixed).get('/mirror/ui/').expect(200);
    await request(prefixed).get('/mirror/ui/api/session').expect(200);
    expect((await request(prefixed).get('/mirror/ui').expect(301)).headers.location).toBe('/mirror/ui/');
    await request(prefixed).get('/ui/').expect(404);
    const off = h.makeApp({ ui: undefined });
    await request(off).get('/ui/').expect(404);
    await request(off).get('/ui/api/session').expect(404);
  });
}
