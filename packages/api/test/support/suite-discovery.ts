import request from 'supertest';
import { OCI_INDEX, OCI_MANIFEST, descriptor, errorCode, imageManifest, pushBlob, putManifest, sha256, useHarness, type DriverUnderTest } from './harness';

/** Content discovery: tags list (end-8), catalog, referrers (end-12). */
export function discoveryTests(dut: DriverUnderTest): void {
  const h = useHarness(dut, { catalogMaxEntries: 50 });

  it('lists tags lexically with n, an exclusive last and a Link to the next page', async () => {
    const bytes = await imageManifest(h.app, 'app/web');
    for (const tag of ['v2', 'latest', 'v1', 'V3', 'a']) await putManifest(h.app, 'app/web', tag, bytes);
    const all = await request(h.app).get('/v2/app/web/tags/list').expect(200);
    expect(all.body).toEqual({ name: 'app/web', tags: ['V3', 'a', 'latest', 'v1', 'v2'] });
    expect(all.headers.link).toBeUndefined();
    const first = await request(h.app).get('/v2/app/web/tags/list?n=2').expect(200);
    expect(first.body.tags).toEqual(['V3', 'a']);
    expect(first.headers.link).toBe('</v2/app/web/tags/list?n=2&last=a>; rel="next"');
    const second = await request(h.app).get('/v2/app/web/tags/list?n=2&last=a').expect(200);
    expect(second.body.tags).toEqual(['latest', 'v1']);
    const last = await request(h.app).get('/v2/app/web/tags/list?n=2&last=v1').expect(200);
    expect(last.body.tags).toEqual(['v2']);
    expect(last.headers.link).toBeUndefined();
    const none = await request(h.app).get('/v2/app/web/tags/list?n=0').expect(200);
    expect(none.body.tags).toEqual([]);
    expect(none.headers.link).toBeUndefined();
    expect((await request(h.app).get('/v2/app/web/tags/list?last=latest').expect(200)).body.tags).toEqual(['v1', 'v2']);
  });

  it('answers NAME_UNKNOWN for the tags of an unknown repository, PAGINATION_NUMBER_INVALID for a bad n', async () => {
    expect(errorCode(await request(h.app).get('/v2/nobody/tags/list').expect(404))).toBe('NAME_UNKNOWN');
    await putManifest(h.app, 'app', 'v1', await imageManifest(h.app, 'app'));
    for (const n of ['-1', 'abc', '1.5']) {
      expect(errorCode(await request(h.app).get(`/v2/app/tags/list?n=${n}`).expect(400))).toBe('PAGINATION_NUMBER_INVALID');
    }
  });

  it('lists repositories in the catalog with pagination', async () => {
    for (const name of ['b/two', 'a', 'b', 'c/d/e']) await putManifest(h.app, name, 'v1', await imageManifest(h.app, name));
    await pushBlob(h.app, 'blob/only', 'x');
    expect((await request(h.app).get('/v2/_catalog').expect(200)).body).toEqual({ repositories: ['a', 'b', 'b/two', 'c/d/e'] });
    const page = await request(h.app).get('/v2/_catalog?n=2').expect(200);
    expect(page.body.repositories).toEqual(['a', 'b']);
    expect(page.headers.link).toBe('</v2/_catalog?n=2&last=b>; rel="next"');
    expect((await request(h.app).get('/v2/_catalog?n=2&last=b').expect(200)).body.repositories).toEqual(['b/two', 'c/d/e']);
    expect((await request(h.app).get('/v2/_catalog?n=0').expect(200)).body.repositories).toEqual([]);
    expect(errorCode(await request(h.app).get('/v2/_catalog?n=51').expect(400))).toBe('PAGINATION_NUMBER_INVALID');
  });

  describe('referrers', () => {
    async function setup() {
      const image = await imageManifest(h.app, 'app');
      const subject = await putManifest(h.app, 'app', 'v1', image);
      const subjectDescriptor = { mediaType: OCI_MANIFEST, digest: subject, size: image.length };
      await pushBlob(h.app, 'app', '{}');
      const push = async (artifactType: string, payload: string, annotations: Record<string, string>) => {
        await pushBlob(h.app, 'app', payload);
        const bytes = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            artifactType,
            config: descriptor('application/vnd.oci.empty.v1+json', '{}'),
            layers: [descriptor('application/octet-stream', payload)],
            subject: subjectDescriptor,
            annotations,
          }),
        );
        const res = await request(h.app).put(`/v2/app/manifests/${sha256(bytes)}`).set('Content-Type', OCI_MANIFEST).send(String(bytes)).expect(201);
        expect(res.headers['oci-subject']).toBe(subject);
        return { digest: sha256(bytes), size: bytes.length };
      };
      return { subject, push };
    }

    it('answers an empty index for an unknown subject (never 404)', async () => {
      const res = await request(h.app).get(`/v2/app/referrers/${sha256('nothing')}`).expect(200);
      expect(res.headers['content-type']).toBe(OCI_INDEX);
      expect(res.body).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
      await request(h.app).get(`/v2/never/pushed/referrers/${sha256('nothing')}`).expect(200);
    });

    it('lists referrers with artifactType and annotations, and filters by artifactType', async () => {
      const { subject, push } = await setup();
      const sig = await push('application/vnd.example.sig', 'sig', { 'org.example.kind': 'signature' });
      const sbom = await push('application/vnd.example.sbom', 'sbom', { 'org.example.kind': 'sbom' });
      const all = await request(h.app).get(`/v2/app/referrers/${subject}`).expect(200);
      expect(all.headers['oci-filters-applied']).toBeUndefined();
      expect(all.body.manifests).toHaveLength(2);
      expect(all.body.manifests).toContainEqual({
        mediaType: OCI_MANIFEST,
        digest: sig.digest,
        size: sig.size,
        artifactType: 'application/vnd.example.sig',
        annotations: { 'org.example.kind': 'signature' },
      });
      const filtered = await request(h.app).get(`/v2/app/referrers/${subject}?artifactType=application/vnd.example.sbom`).expect(200);
      expect(filtered.headers['oci-filters-applied']).toBe('artifactType');
      expect(filtered.body.manifests.map((m: { digest: string }) => m.digest)).toEqual([sbom.digest]);
      await request(h.app).delete(`/v2/app/manifests/${sbom.digest}`).expect(202);
      expect((await request(h.app).get(`/v2/app/referrers/${subject}`).expect(200)).body.manifests).toHaveLength(1);
    });

    it('answers DIGEST_INVALID for a malformed subject digest', async () => {
      expect(errorCode(await request(h.app).get('/v2/app/referrers/sha256:nope').expect(400))).toBe('DIGEST_INVALID');
    });
  });
}
