import request from 'supertest';
import { OCI_MANIFEST, errorCode, imageManifest, pushBlob, putManifest, useHarness, type DriverUnderTest } from './harness';

/** Content management (end-9, end-10) with deletes enabled. */
export function managementTests(dut: DriverUnderTest): void {
  const h = useHarness(dut);

  it('deletes a tag: 202, the tag is gone, the manifest stays', async () => {
    const digest = await putManifest(h.app, 'app', 'v1', await imageManifest(h.app, 'app'));
    await request(h.app).delete('/v2/app/manifests/v1').expect(202);
    await request(h.app).head('/v2/app/manifests/v1').expect(404);
    await request(h.app).get(`/v2/app/manifests/${digest}`).expect(200);
    expect(errorCode(await request(h.app).delete('/v2/app/manifests/v1').expect(404))).toBe('MANIFEST_UNKNOWN');
  });

  it('deletes a manifest by digest: 202, gone, and its tags with it', async () => {
    const bytes = await imageManifest(h.app, 'app');
    const digest = await putManifest(h.app, 'app', 'v1', bytes);
    await putManifest(h.app, 'app', 'latest', bytes);
    await putManifest(h.app, 'app', 'other', await imageManifest(h.app, 'app', {}, 'other'));
    await request(h.app).delete(`/v2/app/manifests/${digest}`).expect(202);
    await request(h.app).head(`/v2/app/manifests/${digest}`).expect(404);
    await request(h.app).head('/v2/app/manifests/latest').expect(404);
    expect((await request(h.app).get('/v2/app/tags/list').expect(200)).body.tags).toEqual(['other']);
  });

  it('deletes a blob: 202 then 404; BLOB_UNKNOWN when it was not there', async () => {
    const digest = await pushBlob(h.app, 'app', 'to delete');
    await request(h.app).delete(`/v2/app/blobs/${digest}`).expect(202);
    await request(h.app).head(`/v2/app/blobs/${digest}`).expect(404);
    expect(errorCode(await request(h.app).delete(`/v2/app/blobs/${digest}`).expect(404))).toBe('BLOB_UNKNOWN');
  });

  it('answers 404 JSON for unknown routes and 405 UNSUPPORTED for a method a route lacks', async () => {
    const unknown = await request(h.app).get('/v2/app/nothing/here').expect(404);
    expect(errorCode(unknown)).toBe('NOT_FOUND');
    expect(unknown.headers['docker-distribution-api-version']).toBe('registry/2.0');
    const wrong = await request(h.app).post('/v2/app/manifests/v1').set('Content-Type', OCI_MANIFEST).send('{}').expect(405);
    expect(errorCode(wrong)).toBe('UNSUPPORTED');
    expect(wrong.headers.allow).toBe('GET, HEAD, PUT, DELETE');
    expect(errorCode(await request(h.app).patch('/v2/').send('x').expect(405))).toBe('UNSUPPORTED');
  });

  it('answers HEAD wherever GET is served, and ignores bodies on endpoints that take none', async () => {
    await putManifest(h.app, 'app', 'v1', await imageManifest(h.app, 'app'));
    const head = await request(h.app).head('/v2/app/tags/list').expect(200);
    expect(head.headers['content-type']).toMatch(/^application\/json/);
    await request(h.app).head('/v2/_catalog').expect(200);
    await request(h.app).get('/v2/').set('Content-Type', 'application/octet-stream').send(Buffer.alloc(10_000, 1)).expect(200);
    const post = await request(h.app).post('/v2/app/blobs/uploads/').send(Buffer.from('ignored body')).expect(202);
    expect(post.headers.range).toBe('0-0');
    await request(h.app).get('/v2/app/manifests/v1').send(Buffer.from('junk')).expect(200);
  });

  describe('with deletes disabled', () => {
    const off = useHarness(dut, { deleteEnabled: false });
    it('answers 405 UNSUPPORTED to manifest, tag and blob deletes', async () => {
      const digest = await putManifest(off.app, 'app', 'v1', await imageManifest(off.app, 'app'));
      const blob = await pushBlob(off.app, 'app', 'kept');
      for (const path of [`/v2/app/manifests/${digest}`, '/v2/app/manifests/v1', `/v2/app/blobs/${blob}`]) {
        expect(errorCode(await request(off.app).delete(path).expect(405))).toBe('UNSUPPORTED');
      }
      await request(off.app).head('/v2/app/manifests/v1').expect(200);
    });
  });

  describe('in read-only mode', () => {
    const ro = useHarness(dut);
    it('answers 405 UNSUPPORTED to every write and still serves reads', async () => {
      const digest = await putManifest(ro.app, 'app', 'v1', await imageManifest(ro.app, 'app'));
      const readOnly = ro.makeApp({ readOnly: true });
      expect(errorCode(await request(readOnly).post('/v2/app/blobs/uploads/').expect(405))).toBe('UNSUPPORTED');
      expect(errorCode(await request(readOnly).put('/v2/app/manifests/v2').send('{}').expect(405))).toBe('UNSUPPORTED');
      expect(errorCode(await request(readOnly).delete(`/v2/app/manifests/${digest}`).expect(405))).toBe('UNSUPPORTED');
      expect(errorCode(await request(readOnly).patch('/v2/app/blobs/uploads/x').expect(405))).toBe('UNSUPPORTED');
      await request(readOnly).get('/v2/app/manifests/v1').expect(200);
      await request(readOnly).get('/v2/app/tags/list').expect(200);
    });
  });
}
