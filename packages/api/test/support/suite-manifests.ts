import request from 'supertest';
import {
  OCI_INDEX,
  OCI_MANIFEST,
  binary,
  descriptor,
  errorCode,
  imageManifest,
  pathOf,
  pushBlob,
  putManifest,
  sha256,
  sha512,
  useHarness,
  type DriverUnderTest,
} from './harness';

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** Manifest push (end-7) and pull (end-3) by tag and digest, validation errors. */
export function manifestTests(dut: DriverUnderTest): void {
  const h = useHarness(dut);

  it('pushes by tag and pulls the exact bytes by tag and by digest', async () => {
    const bytes = Buffer.concat([await imageManifest(h.app, 'app/web'), Buffer.from('\n')]);
    const put = await request(h.app).put('/v2/app/web/manifests/v1').set('Content-Type', OCI_MANIFEST).send(String(bytes)).expect(201);
    const digest = sha256(bytes);
    expect(put.headers['docker-content-digest']).toBe(digest);
    expect(pathOf(put.headers.location)).toBe(`/v2/app/web/manifests/${digest}`);
    expect(put.headers['oci-subject']).toBeUndefined();
    for (const reference of ['v1', digest]) {
      const get = await request(h.app)
        .get(`/v2/app/web/manifests/${reference}`)
        .set('Accept', `${OCI_MANIFEST}, ${OCI_INDEX}`)
        .buffer(true)
        .parse(binary)
        .expect(200);
      expect(Buffer.compare(get.body as Buffer, bytes)).toBe(0);
      expect(get.headers).toMatchObject({ 'content-type': OCI_MANIFEST, 'docker-content-digest': digest, 'content-length': String(bytes.length) });
      const head = await request(h.app).head(`/v2/app/web/manifests/${reference}`).expect(200);
      expect(head.headers).toMatchObject({ 'content-type': OCI_MANIFEST, 'docker-content-digest': digest, 'content-length': String(bytes.length) });
    }
  });

  it('pushes sha512 manifests by digest', async () => {
    const bytes = await imageManifest(h.app, 'app');
    const digest = sha512(bytes);
    expect(await putManifest(h.app, 'app', digest, bytes)).toBe(digest);
    const get = await request(h.app).get(`/v2/app/manifests/${digest}`).buffer(true).parse(binary).expect(200);
    expect(Buffer.compare(get.body as Buffer, bytes)).toBe(0);
  });

  it('rejects a manifest whose bytes do not match the digest reference', async () => {
    const bytes = await imageManifest(h.app, 'app');
    const res = await request(h.app).put(`/v2/app/manifests/${sha256(bytes)}`).set('Content-Type', OCI_MANIFEST).send(String(Buffer.concat([bytes, Buffer.from('  ')]))).expect(400);
    expect(errorCode(res)).toBe('DIGEST_INVALID');
    expect(errorCode(await request(h.app).put('/v2/app/manifests/sha256:baddigeststring').set('Content-Type', OCI_MANIFEST).send(String(bytes)).expect(400))).toBe('DIGEST_INVALID');
  });

  it('rejects a manifest referencing a blob the repository lacks with MANIFEST_BLOB_UNKNOWN', async () => {
    const bytes = await imageManifest(h.app, 'other');
    const res = await request(h.app).put('/v2/app/manifests/v1').set('Content-Type', OCI_MANIFEST).send(String(bytes)).expect(400);
    expect(errorCode(res)).toBe('MANIFEST_BLOB_UNKNOWN');
  });

  it('rejects invalid manifests with MANIFEST_INVALID, schema 1 with a clear message', async () => {
    const cases: Array<[string, string]> = [
      ['{not json', OCI_MANIFEST],
      [JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }), OCI_MANIFEST],
      [JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example+json' }), 'application/vnd.example+json'],
    ];
    for (const [body, type] of cases) {
      expect(errorCode(await request(h.app).put('/v2/app/manifests/v1').set('Content-Type', type).send(body).expect(400))).toBe('MANIFEST_INVALID');
    }
    const schema1 = JSON.stringify({ schemaVersion: 1, name: 'app', tag: 'v1', architecture: 'amd64', fsLayers: [], history: [], signatures: [] });
    const res = await request(h.app)
      .put('/v2/app/manifests/v1')
      .set('Content-Type', 'application/vnd.docker.distribution.manifest.v1+prettyjws')
      .send(schema1)
      .expect(400);
    expect(errorCode(res)).toBe('MANIFEST_INVALID');
    expect(res.body.errors[0].message).toMatch(/schema 1 is not supported/);
  });

  it('refuses with 400 MANIFEST_INVALID deep nesting, invalid UTF-8, "layers": null and a descriptor size the stored blob does not have', async () => {
    const body = JSON.parse(String(await imageManifest(h.app, 'app'))) as Record<string, unknown> & { layers: Array<{ size: number }> };
    const text = JSON.stringify(body);
    const deep = `${text.slice(0, -1)},"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const latin1 = Buffer.from(JSON.stringify({ ...body, annotations: { note: 'café' } }), 'latin1');
    const nullLayers = JSON.stringify({ ...body, layers: null });
    const wrongSize = JSON.stringify({ ...body, layers: [{ ...body.layers[0], size: body.layers[0].size + 1 }] });
    for (const [what, bytes] of [['deep', Buffer.from(deep)], ['latin1', latin1], ['null layers', Buffer.from(nullLayers)], ['wrong size', Buffer.from(wrongSize)]] as const) {
      // A generic Content-Type (the body's mediaType counts) makes supertest send the Buffer's bytes as they are.
      const res = await request(h.app).put('/v2/app/manifests/hostile').set('Content-Type', 'application/octet-stream').send(bytes);
      expect([what, res.status, errorCode(res)]).toEqual([what, 400, 'MANIFEST_INVALID']);
    }
    await request(h.app).head('/v2/app/manifests/hostile').expect(404);
    await putManifest(h.app, 'app', 'fine', Buffer.from(text));
  });

  it('accepts manifests over 4 MiB and answers 413 above the limit', async () => {
    const annotations = Object.fromEntries(Array.from({ length: 430 }, (_, i) => [`large-annotation-${i}`, 'A'.repeat(10_000)]));
    const big = await imageManifest(h.app, 'app', { annotations });
    expect(big.length).toBeGreaterThan(4 * 1024 * 1024);
    await putManifest(h.app, 'app', 'large', big);
    const get = await request(h.app).get('/v2/app/manifests/large').buffer(true).parse(binary).expect(200);
    expect(Buffer.compare(get.body as Buffer, big)).toBe(0);
    const huge = Buffer.concat([big, Buffer.alloc(4 * 1024 * 1024, 0x20)]);
    const res = await request(h.app).put('/v2/app/manifests/huge').set('Content-Type', OCI_MANIFEST).send(String(huge)).expect(413);
    expect(errorCode(res)).toBe('MANIFEST_TOO_LARGE');
  });

  it('stores indexes whose children exist and Docker manifests and lists', async () => {
    const child = await imageManifest(h.app, 'app');
    const childDigest = await putManifest(h.app, 'app', sha256(child), child);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: childDigest, size: child.length, platform: { os: 'linux', architecture: 'amd64' } }] }));
    await putManifest(h.app, 'app', 'multi', index, OCI_INDEX);
    expect((await request(h.app).head('/v2/app/manifests/multi').expect(200)).headers['content-type']).toBe(OCI_INDEX);
    const orphan = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor(OCI_MANIFEST, 'never pushed')] }));
    expect(errorCode(await request(h.app).put('/v2/app/manifests/orphan').set('Content-Type', OCI_INDEX).send(String(orphan)).expect(400))).toBe('MANIFEST_BLOB_UNKNOWN');

    const config = '{"docker":"config"}';
    await pushBlob(h.app, 'app', config);
    const docker = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: descriptor('application/vnd.docker.container.image.v1+json', config), layers: [] }));
    const dockerDigest = await putManifest(h.app, 'app', 'docker', docker, DOCKER_MANIFEST);
    const list = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [{ mediaType: DOCKER_MANIFEST, digest: dockerDigest, size: docker.length }] }));
    await putManifest(h.app, 'app', 'list', list, DOCKER_LIST);
    expect((await request(h.app).get('/v2/app/manifests/list').expect(200)).headers['content-type']).toBe(DOCKER_LIST);
    expect((await request(h.app).get('/v2/app/manifests/docker').expect(200)).headers['content-type']).toBe(DOCKER_MANIFEST);
  });

  it('accepts a manifest whose subject is missing and answers OCI-Subject', async () => {
    await pushBlob(h.app, 'app', '{}');
    await pushBlob(h.app, 'app', 'payload');
    const subject = descriptor(OCI_MANIFEST, 'missing content', { size: 123 });
    const artifact = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.sig',
        config: descriptor('application/vnd.oci.empty.v1+json', '{}'),
        layers: [descriptor('application/octet-stream', 'payload')],
        subject,
      }),
    );
    const res = await request(h.app).put(`/v2/app/manifests/${sha256(artifact)}`).set('Content-Type', OCI_MANIFEST).send(String(artifact)).expect(201);
    expect(res.headers['oci-subject']).toBe(subject.digest);
  });

  it('leaves a tag updated by concurrent PUTs on one of the pushed manifests', async () => {
    const manifests = await Promise.all(['a', 'b', 'c', 'd'].map((seed) => imageManifest(h.app, 'app', {}, seed)));
    const results = await Promise.all(manifests.map((m) => request(h.app).put('/v2/app/manifests/latest').set('Content-Type', OCI_MANIFEST).send(String(m))));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const get = await request(h.app).get('/v2/app/manifests/latest').buffer(true).parse(binary).expect(200);
    expect(manifests.map((m) => sha256(m))).toContain(get.headers['docker-content-digest']);
    expect(manifests.some((m) => Buffer.compare(m, get.body as Buffer) === 0)).toBe(true);
    expect((await request(h.app).get('/v2/app/tags/list').expect(200)).body.tags).toEqual(['latest']);
  });

  it('adds the ?tag= parameters of a PUT by digest', async () => {
    const bytes = await imageManifest(h.app, 'app');
    await request(h.app).put(`/v2/app/manifests/${sha256(bytes)}?tag=one&tag=two`).set('Content-Type', OCI_MANIFEST).send(String(bytes)).expect(201);
    await request(h.app).head('/v2/app/manifests/one').expect(200);
    await request(h.app).head('/v2/app/manifests/two').expect(200);
  });

  it('answers MANIFEST_UNKNOWN for unknown references', async () => {
    expect(errorCode(await request(h.app).get('/v2/app/manifests/missing').expect(404))).toBe('MANIFEST_UNKNOWN');
    expect(errorCode(await request(h.app).get(`/v2/app/manifests/${sha256('missing')}`).expect(404))).toBe('MANIFEST_UNKNOWN');
  });

  it('answers 404 MANIFEST_UNKNOWN to a GET, HEAD or DELETE whose reference is neither a tag nor a digest (OCI conformance), 400 to such a PUT', async () => {
    const bytes = await imageManifest(h.app, 'app');
    await putManifest(h.app, 'app', 'v1', bytes);
    for (const reference of ['.INVALID_MANIFEST_NAME', '-bad-', 'x'.repeat(129), 'sha256:baddigeststring', 'md5:abc']) {
      const get = await request(h.app).get(`/v2/app/manifests/${reference}`).expect(404);
      expect(errorCode(get)).toBe('MANIFEST_UNKNOWN');
      expect(get.body.errors[0].detail).toEqual({ reference });
      await request(h.app).head(`/v2/app/manifests/${reference}`).expect(404);
      expect(errorCode(await request(h.app).delete(`/v2/app/manifests/${reference}`).expect(404))).toBe('MANIFEST_UNKNOWN');
    }
    await request(h.app).head('/v2/app/manifests/v1').expect(200);
    const putTag = await request(h.app).put('/v2/app/manifests/.INVALID_MANIFEST_NAME').set('Content-Type', OCI_MANIFEST).send(String(bytes)).expect(400);
    expect(errorCode(putTag)).toBe('TAG_INVALID');
    expect(errorCode(await request(h.app).put(`/v2/app/manifests/${'x'.repeat(129)}`).send('{}').expect(400))).toBe('TAG_INVALID');
    const putDigest = await request(h.app).put('/v2/app/manifests/sha256:totallywrong').set('Content-Type', OCI_MANIFEST).send(String(bytes)).expect(400);
    expect(errorCode(putDigest)).toBe('DIGEST_INVALID');
  });
}
