import { createInMemoryDriver } from '@berth/driver-inmemory';
import { Digest } from '@berth/registry';
import { call, makeImage, pushImage, sha256, OCI_MANIFEST } from './support/images';
import { berthApp, listen, startMirror, startUpstream, type RunningMirror, type RunningServer } from './support/servers';
import { blobState, readLink, uploadSessions } from './support/storage';

/**
 * A Berth pull-through cache in front of another Berth (the real API on loopback, content pushed
 * over HTTP): what is pulled, what lands in storage, and what happens when the upstream is gone.
 */
describe('a pull-through cache of another Berth', () => {
  let upstream: RunningServer;
  let mirror: RunningMirror;

  beforeEach(async () => {
    upstream = await startUpstream();
    mirror = await startMirror(upstream.url);
  });

  afterEach(async () => {
    await mirror.stop();
    await upstream.stop();
  });

  const blobPath = (name: string, digest: string): string => `/v2/${name}/blobs/${digest}`;

  it('pulls a manifest by tag and its blobs by digest byte-identical, stored in the normal layout', async () => {
    const image = makeImage([1024 * 1024, 3000]);
    await pushImage(upstream.url, 'team/app', 'v1', image);

    const manifest = await call('GET', `${mirror.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
    expect(manifest.status).toBe(200);
    expect(manifest.body.equals(image.manifest)).toBe(true);
    expect(manifest.headers['docker-content-digest']).toBe(image.digest);
    expect(manifest.headers['content-type']).toBe(OCI_MANIFEST);
    for (const [digest, bytes] of image.blobs) {
      const blob = await call('GET', `${mirror.url}${blobPath('team/app', digest)}`);
      expect(blob.status).toBe(200);
      expect(blob.headers['content-length']).toBe(String(bytes.length));
      expect(blob.headers['docker-content-digest']).toBe(digest);
      expect(blob.body.equals(bytes)).toBe(true);
      expect(await blobState(mirror.driver, 'team/app', digest)).toEqual({ data: true, link: true });
    }
    const digest = Digest.parse(image.digest);
    expect(await readLink(mirror.driver, { kind: 'tagCurrentLink', name: 'team/app', tag: 'v1' })).toBe(image.digest);
    expect(await readLink(mirror.driver, { kind: 'revisionLink', name: 'team/app', digest })).toBe(image.digest);
    expect(await readLink(mirror.driver, { kind: 'tagIndexLink', name: 'team/app', tag: 'v1', digest })).toBe(image.digest);
    expect(await uploadSessions(mirror.driver, 'team/app')).toEqual([]);
  });

  it('serves cached tags and digests when the upstream is stopped', async () => {
    const image = makeImage([200_000]);
    await pushImage(upstream.url, 'cached/app', 'latest', image);
    await call('GET', `${mirror.url}/v2/cached/app/manifests/latest`);
    for (const digest of image.blobs.keys()) await call('GET', `${mirror.url}${blobPath('cached/app', digest)}`);
    await upstream.stop();

    const byTag = await call('GET', `${mirror.url}/v2/cached/app/manifests/latest`);
    expect(byTag.status).toBe(200);
    expect(byTag.body.equals(image.manifest)).toBe(true);
    const byDigest = await call('GET', `${mirror.url}/v2/cached/app/manifests/${image.digest}`);
    expect(byDigest.body.equals(image.manifest)).toBe(true);
    const head = await call('HEAD', `${mirror.url}/v2/cached/app/manifests/latest`);
    expect(head.status).toBe(200);
    expect(head.headers['docker-content-digest']).toBe(image.digest);
    for (const [digest, bytes] of image.blobs) {
      const blob = await call('GET', `${mirror.url}${blobPath('cached/app', digest)}`);
      expect(blob.body.equals(bytes)).toBe(true);
    }
  });

  it('answers 503 UNAVAILABLE when the upstream is down and nothing is cached, 404 for what the upstream does not have', async () => {
    const unknownDigest = sha256('never pushed');
    const missingTag = await call('GET', `${mirror.url}/v2/nothing/here/manifests/v1`);
    expect(missingTag.status).toBe(404);
    expect(JSON.parse(missingTag.body.toString()).errors[0].code).toBe('MANIFEST_UNKNOWN');
    const missingBlob = await call('GET', `${mirror.url}${blobPath('nothing/here', unknownDigest)}`);
    expect(missingBlob.status).toBe(404);
    expect(JSON.parse(missingBlob.body.toString()).errors[0].code).toBe('BLOB_UNKNOWN');
    expect((await call('HEAD', `${mirror.url}${blobPath('nothing/here', unknownDigest)}`)).status).toBe(404);

    await upstream.stop();
    for (const path of ['/v2/nothing/here/manifests/v1', `/v2/nothing/here/manifests/${unknownDigest}`, blobPath('nothing/here', unknownDigest)]) {
      const down = await call('GET', `${mirror.url}${path}`);
      expect(down.status).toBe(503);
      const error = JSON.parse(down.body.toString()).errors[0];
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toMatch(/unreachable/);
    }
  });

  it('moves a cached tag to the digest the upstream names now, and keeps serving the old digest', async () => {
    const first = makeImage([1000]);
    const second = makeImage([2000]);
    await pushImage(upstream.url, 'moving/app', 'v1', first);
    expect((await call('GET', `${mirror.url}/v2/moving/app/manifests/v1`)).body.equals(first.manifest)).toBe(true);
    await pushImage(upstream.url, 'moving/app', 'v1', second);

    const moved = await call('GET', `${mirror.url}/v2/moving/app/manifests/v1`);
    expect(moved.headers['docker-content-digest']).toBe(second.digest);
    expect(moved.body.equals(second.manifest)).toBe(true);
    expect(await readLink(mirror.driver, { kind: 'tagCurrentLink', name: 'moving/app', tag: 'v1' })).toBe(second.digest);
    expect((await call('GET', `${mirror.url}/v2/moving/app/manifests/${first.digest}`)).body.equals(first.manifest)).toBe(true);

    // Back to a digest the cache holds: the tag moves without fetching the manifest again.
    await call('PUT', `${upstream.url}/v2/moving/app/manifests/v1`, { headers: { 'content-type': OCI_MANIFEST }, body: first.manifest });
    const gets = upstream.count('GET', `/v2/moving/app/manifests/${first.digest}`);
    expect((await call('GET', `${mirror.url}/v2/moving/app/manifests/v1`)).headers['docker-content-digest']).toBe(first.digest);
    expect(upstream.count('GET', `/v2/moving/app/manifests/${first.digest}`)).toBe(gets);
    expect(await readLink(mirror.driver, { kind: 'tagCurrentLink', name: 'moving/app', tag: 'v1' })).toBe(first.digest);
  });

  it('asks the upstream a HEAD per tag request, and nothing for content by digest once cached', async () => {
    const image = makeImage([5000]);
    await pushImage(upstream.url, 'quiet/app', 'v1', image);
    await call('GET', `${mirror.url}/v2/quiet/app/manifests/v1`);
    const layer = image.layers[0]!.digest;
    await call('GET', `${mirror.url}${blobPath('quiet/app', layer)}`);
    const before = upstream.requests.length;

    await call('GET', `${mirror.url}/v2/quiet/app/manifests/${image.digest}`);
    await call('HEAD', `${mirror.url}/v2/quiet/app/manifests/${image.digest}`);
    await call('GET', `${mirror.url}${blobPath('quiet/app', layer)}`);
    await call('HEAD', `${mirror.url}${blobPath('quiet/app', layer)}`);
    expect(upstream.requests.length).toBe(before);

    await call('GET', `${mirror.url}/v2/quiet/app/manifests/v1`);
    expect(upstream.requests.slice(before).map((r) => `${r.method} ${r.url}`)).toEqual(['HEAD /v2/quiet/app/manifests/v1']);
  });

  it('answers HEAD of an uncached blob from the upstream without storing it', async () => {
    const image = makeImage([12345]);
    await pushImage(upstream.url, 'head/app', 'v1', image);
    const layer = image.layers[0]!;
    const head = await call('HEAD', `${mirror.url}${blobPath('head/app', layer.digest)}`);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('12345');
    expect(head.headers['docker-content-digest']).toBe(layer.digest);
    expect(await blobState(mirror.driver, 'head/app', layer.digest)).toEqual({ data: false, link: false });
  });

  it('serves a Range of an uncached blob once it stored the whole blob', async () => {
    const image = makeImage([100_000]);
    await pushImage(upstream.url, 'range/app', 'v1', image);
    const layer = image.layers[0]!;
    const partial = await call('GET', `${mirror.url}${blobPath('range/app', layer.digest)}`, { headers: { range: 'bytes=10-19' } });
    expect(partial.status).toBe(206);
    expect(partial.body.equals(layer.bytes.subarray(10, 20))).toBe(true);
    expect(await blobState(mirror.driver, 'range/app', layer.digest)).toEqual({ data: true, link: true });
    expect(upstream.count('GET', blobPath('range/app', layer.digest))).toBe(1);
  });

  it('fetches a blob once for concurrent requests (one upstream GET) and serves every one of them in full', async () => {
    const image = makeImage([4 * 1024 * 1024]);
    await pushImage(upstream.url, 'busy/app', 'v1', image);
    const layer = image.layers[0]!;
    const responses = await Promise.all(Array.from({ length: 6 }, () => call('GET', `${mirror.url}${blobPath('busy/app', layer.digest)}`)));
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.body.equals(layer.bytes)).toBe(true);
    }
    expect(upstream.count('GET', blobPath('busy/app', layer.digest))).toBe(1);
    expect(mirror.cache.scheduled()).toEqual([]);
  });

  it('fetches a manifest once for concurrent requests by digest', async () => {
    const image = makeImage([10]);
    await pushImage(upstream.url, 'busy/manifest', 'v1', image);
    const responses = await Promise.all(Array.from({ length: 5 }, () => call('GET', `${mirror.url}/v2/busy/manifest/manifests/${image.digest}`)));
    for (const response of responses) expect(response.body.equals(image.manifest)).toBe(true);
    expect(upstream.count('GET', `/v2/busy/manifest/manifests/${image.digest}`)).toBe(1);
  });

  it('points every tag asked for at once at the one manifest fetched for them', async () => {
    // An upstream slow to serve manifests by digest: every HEAD is answered while the one GET runs.
    const app = berthApp(createInMemoryDriver());
    const slow = await listen((req, res) => {
      if (req.method === 'GET' && /\/manifests\/sha256:/.test(req.url ?? '')) setTimeout(() => app(req, res), 300);
      else app(req, res);
    });
    const behind = await startMirror(slow.url);
    try {
      const image = makeImage([10]);
      await pushImage(slow.url, 'busy/tags', 'latest', image);
      await pushImage(slow.url, 'busy/tags', '1.0', image);
      const responses = await Promise.all(['latest', '1.0', 'latest', '1.0'].map((tag) => call('GET', `${behind.url}/v2/busy/tags/manifests/${tag}`)));
      for (const response of responses) expect(response.body.equals(image.manifest)).toBe(true);
      expect(slow.count('GET', `/v2/busy/tags/manifests/${image.digest}`)).toBe(1);
      for (const tag of ['latest', '1.0']) expect(await readLink(behind.driver, { kind: 'tagCurrentLink', name: 'busy/tags', tag })).toBe(image.digest);
    } finally {
      await behind.stop();
      await slow.stop();
    }
  });

  it('links a blob already cached for another repository after an upstream HEAD, without downloading it again', async () => {
    const image = makeImage([300_000]);
    await pushImage(upstream.url, 'one/app', 'v1', image);
    await pushImage(upstream.url, 'two/app', 'v1', image);
    const layer = image.layers[0]!;
    await call('GET', `${mirror.url}${blobPath('one/app', layer.digest)}`);
    const second = await call('GET', `${mirror.url}${blobPath('two/app', layer.digest)}`);
    expect(second.body.equals(layer.bytes)).toBe(true);
    expect(upstream.count('GET', blobPath('two/app', layer.digest))).toBe(0);
    expect(upstream.count('HEAD', blobPath('two/app', layer.digest))).toBe(1);
    expect(await blobState(mirror.driver, 'two/app', layer.digest)).toEqual({ data: true, link: true });

    // A repository the upstream does not hold the blob in does not get it.
    const third = await call('GET', `${mirror.url}${blobPath('three/app', layer.digest)}`);
    expect(third.status).toBe(404);
    expect(await blobState(mirror.driver, 'three/app', layer.digest)).toEqual({ data: true, link: false });
  });

  it('passes library/ names to the upstream unchanged, as Docker Hub mirrors are asked', async () => {
    const image = makeImage([777]);
    await pushImage(upstream.url, 'library/alpine', '3.20', image);
    const pulled = await call('GET', `${mirror.url}/v2/library/alpine/manifests/3.20`);
    expect(pulled.body.equals(image.manifest)).toBe(true);
    expect(upstream.count('HEAD', '/v2/library/alpine/manifests/3.20')).toBe(1);
  });

  it("ignores containerd's ?ns= parameter on mirror requests", async () => {
    const image = makeImage([321]);
    await pushImage(upstream.url, 'library/busybox', 'latest', image);
    const pulled = await call('GET', `${mirror.url}/v2/library/busybox/manifests/latest?ns=docker.io`);
    expect(pulled.body.equals(image.manifest)).toBe(true);
    const blob = await call('GET', `${mirror.url}${blobPath('library/busybox', image.layers[0]!.digest)}?ns=docker.io`);
    expect(blob.body.equals(image.layers[0]!.bytes)).toBe(true);
  });

  it('reaches an upstream whose remoteurl carries a path prefix', async () => {
    const prefixed = await startUpstream({ prefix: '/hub' });
    const behind = await startMirror(`${prefixed.url}/hub/`);
    try {
      const image = makeImage([654]);
      await pushImage(`${prefixed.url}/hub`, 'prefixed/app', 'v1', image);
      expect((await call('GET', `${behind.url}/v2/prefixed/app/manifests/v1`)).body.equals(image.manifest)).toBe(true);
      expect(prefixed.count('HEAD', '/hub/v2/prefixed/app/manifests/v1')).toBe(1);
    } finally {
      await behind.stop();
      await prefixed.stop();
    }
  });

  it('refuses pushes and deletes with 405 UNSUPPORTED, and stores nothing', async () => {
    const image = makeImage([100]);
    await pushImage(upstream.url, 'ro/app', 'v1', image);
    await call('GET', `${mirror.url}/v2/ro/app/manifests/v1`);
    const attempts: Array<[string, string]> = [
      ['POST', '/v2/ro/app/blobs/uploads/'],
      ['POST', `/v2/ro/app/blobs/uploads/?digest=${image.config.digest}`],
      ['PATCH', '/v2/ro/app/blobs/uploads/7d4f8e5c-3a1b-4c2d-9e8f-0a1b2c3d4e5f'],
      ['PUT', '/v2/ro/app/blobs/uploads/7d4f8e5c-3a1b-4c2d-9e8f-0a1b2c3d4e5f?digest=' + image.config.digest],
      ['PUT', '/v2/ro/app/manifests/v2'],
      ['DELETE', '/v2/ro/app/manifests/v1'],
      ['DELETE', `/v2/ro/app/manifests/${image.digest}`],
      ['DELETE', `/v2/ro/app/blobs/${image.config.digest}`],
      ['DELETE', '/v2/ro/app/blobs/uploads/7d4f8e5c-3a1b-4c2d-9e8f-0a1b2c3d4e5f'],
    ];
    for (const [method, path] of attempts) {
      const refused = await call(method, `${mirror.url}${path}`, { body: method === 'GET' ? undefined : Buffer.from('x'), headers: { 'content-type': OCI_MANIFEST } });
      expect({ method, path, status: refused.status }).toEqual({ method, path, status: 405 });
      expect(JSON.parse(refused.body.toString()).errors[0].code).toBe('UNSUPPORTED');
    }
    expect((await call('GET', `${mirror.url}/v2/ro/app/manifests/v1`)).status).toBe(200);
    expect(await uploadSessions(mirror.driver, 'ro/app')).toEqual([]);
  });

  it('lists what is cached: tags/list and the catalog are served from storage, not from the upstream', async () => {
    const image = makeImage([10]);
    await pushImage(upstream.url, 'listed/app', 'v1', image);
    await pushImage(upstream.url, 'listed/app', 'v2', image);
    await pushImage(upstream.url, 'unpulled/app', 'v1', image);
    await call('GET', `${mirror.url}/v2/listed/app/manifests/v1`);

    const tags = await call('GET', `${mirror.url}/v2/listed/app/tags/list`);
    expect(JSON.parse(tags.body.toString())).toEqual({ name: 'listed/app', tags: ['v1'] });
    const catalog = await call('GET', `${mirror.url}/v2/_catalog`);
    expect(JSON.parse(catalog.body.toString())).toEqual({ repositories: ['listed/app'] });
    expect(upstream.count('GET', /tags\/list|_catalog/)).toBe(0);
  });
});
