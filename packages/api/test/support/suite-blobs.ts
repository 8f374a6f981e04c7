import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { binary, errorCode, pathOf, pushBlob, sha256, sha512, useHarness, withDigest, type DriverUnderTest } from './harness';

/** Blob pull (end-2), monolithic push (end-4b), POST+PUT (end-4a/6), mount (end-11), ranges. */
export function blobTests(dut: DriverUnderTest): void {
  const h = useHarness(dut);

  it('answers GET /v2/ with 200, {} and the API version header', async () => {
    const res = await request(h.app).get('/v2/').expect(200);
    expect(res.body).toEqual({});
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    await request(h.app).head('/v2/').expect(200);
    await request(h.app).get('/v2').expect(200);
  });

  it('pushes a blob in one POST and serves it with its headers', async () => {
    const content = randomBytes(3000);
    const digest = sha256(content);
    const post = await request(h.app).post(`/v2/app/web/blobs/uploads/?digest=${digest}`).set('Content-Type', 'application/octet-stream').send(content).expect(201);
    expect(post.headers.location).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/v2/app/web/blobs/${digest}$`));
    expect(post.headers['docker-content-digest']).toBe(digest);
    const get = await request(h.app).get(pathOf(post.headers.location)).buffer(true).parse(binary).expect(200);
    expect(Buffer.compare(get.body as Buffer, content)).toBe(0);
    expect(get.headers).toMatchObject({
      'content-length': '3000',
      'content-type': 'application/octet-stream',
      'docker-content-digest': digest,
      etag: `"${digest}"`,
      'accept-ranges': 'bytes',
      'docker-distribution-api-version': 'registry/2.0',
    });
    const head = await request(h.app).head(`/v2/app/web/blobs/${digest}`).expect(200);
    expect(head.headers['content-length']).toBe('3000');
    expect(head.headers['docker-content-digest']).toBe(digest);
    expect(head.text ?? '').toBe('');
  });

  it('pushes with POST then PUT carrying the body', async () => {
    const content = Buffer.from('post then put');
    const post = await request(h.app).post('/v2/app/blobs/uploads/').expect(202);
    expect(post.headers.range).toBe('0-0');
    expect(post.headers['docker-upload-uuid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(post.headers.location).toContain(`/v2/app/blobs/uploads/${post.headers['docker-upload-uuid']}?_state=`);
    const put = await request(h.app).put(withDigest(post.headers.location, sha256(content))).set('Content-Type', 'application/octet-stream').send(content).expect(201);
    expect(put.headers['docker-content-digest']).toBe(sha256(content));
    expect(pathOf(put.headers.location)).toBe(`/v2/app/blobs/${sha256(content)}`);
    await request(h.app).head(`/v2/app/blobs/${sha256(content)}`).expect(200);
  });

  it('pushes and pulls sha512 blobs and the empty blob', async () => {
    const content = randomBytes(1024);
    await pushBlob(h.app, 'app', content, sha512(content));
    const get = await request(h.app).get(`/v2/app/blobs/${sha512(content)}`).buffer(true).parse(binary).expect(200);
    expect(Buffer.compare(get.body as Buffer, content)).toBe(0);
    expect(get.headers['docker-content-digest']).toBe(sha512(content));
    const post = await request(h.app).post('/v2/app/blobs/uploads/').expect(202);
    await request(h.app).put(withDigest(post.headers.location, sha512(content))).send(content).expect(201);
    await pushBlob(h.app, 'app', Buffer.alloc(0));
    const empty = await request(h.app).get(`/v2/app/blobs/${sha256('')}`).buffer(true).parse(binary).expect(200);
    expect(empty.headers['content-length']).toBe('0');
    expect((empty.body as Buffer).length).toBe(0);
  });

  it('rejects a monolithic push whose digest does not match, leaving nothing visible', async () => {
    const res = await request(h.app).post(`/v2/app/blobs/uploads/?digest=${sha256('other')}`).send(Buffer.from('content')).expect(400);
    expect(errorCode(res)).toBe('DIGEST_INVALID');
    expect(await h.driver.list('/docker/registry/v2/repositories/app/_uploads').catch(() => [])).toEqual([]);
    await request(h.app).head(`/v2/app/blobs/${sha256('other')}`).expect(404);
    await request(h.app).head(`/v2/app/blobs/${sha256('content')}`).expect(404);
  });

  it('answers BLOB_UNKNOWN, DIGEST_INVALID and NAME_INVALID for bad blob requests', async () => {
    expect(errorCode(await request(h.app).get(`/v2/app/blobs/${sha256('missing')}`).expect(404))).toBe('BLOB_UNKNOWN');
    expect(errorCode(await request(h.app).get('/v2/app/blobs/sha256:xyz').expect(400))).toBe('DIGEST_INVALID');
    expect(errorCode(await request(h.app).get(`/v2/app/blobs/md5:${'a'.repeat(32)}`).expect(400))).toBe('DIGEST_INVALID');
    expect(errorCode(await request(h.app).get(`/v2/App/blobs/${sha256('x')}`).expect(400))).toBe('NAME_INVALID');
    expect(errorCode(await request(h.app).get(`/v2/a..b/blobs/${sha256('x')}`).expect(400))).toBe('NAME_INVALID');
    expect(errorCode(await request(h.app).post(`/v2/app/blobs/uploads/?digest=sha256:nope`).send('x').expect(400))).toBe('DIGEST_INVALID');
    const head = await request(h.app).head(`/v2/app/blobs/${sha256('missing')}`).expect(404);
    expect(head.headers['content-type']).toMatch(/^application\/json/);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const digest = await pushBlob(h.app, 'app', 'cached');
    const res = await request(h.app).get(`/v2/app/blobs/${digest}`).set('If-None-Match', `"${digest}"`).expect(304);
    expect(res.headers['content-length']).toBeUndefined();
    await request(h.app).get(`/v2/app/blobs/${digest}`).set('If-None-Match', '"sha256:other"').expect(200);
  });

  describe('range requests on a 2048-byte blob', () => {
    const content = randomBytes(2048);
    const digest = sha256(content);
    beforeEach(async () => {
      await pushBlob(h.app, 'app', content);
    });
    const get = (range: string) => request(h.app).get(`/v2/app/blobs/${digest}`).set('Range', range).buffer(true).parse(binary);

    it.each([
      ['bytes=500-1499', 500, 1499],
      ['bytes=500-', 500, 2047],
      ['bytes=-500', 1548, 2047],
      ['bytes=2000-5000', 2000, 2047],
      ['bytes=0-0', 0, 0],
      ['bytes=-5000', 0, 2047],
    ])('serves %s as 206', async (range, start, end) => {
      const res = await get(range).expect(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/2048`);
      expect(res.headers['content-length']).toBe(String(end - start + 1));
      expect(Buffer.compare(res.body as Buffer, content.subarray(start, end + 1))).toBe(0);
    });

    it.each(['bytes=500-0', 'bytes=5000-10000', 'bytes=2048-', 'bytes=-0', 'bytes=abc', 'bytes=-'])('refuses %s with 416', async (range) => {
      const res = await get(range).expect(416);
      expect(res.headers['content-range']).toBe('bytes */2048');
    });

    it.each(['bytes=0-1,5-6', 'items=0-5'])('serves the whole blob for %s', async (range) => {
      const res = await get(range).expect(200);
      expect(Buffer.compare(res.body as Buffer, content)).toBe(0);
    });
  });

  describe('cross-repository mount', () => {
    it('links a blob the source repository has (201)', async () => {
      const digest = await pushBlob(h.app, 'source/repo', 'shared');
      const res = await request(h.app).post(`/v2/target/blobs/uploads/?mount=${digest}&from=source/repo`).expect(201);
      expect(pathOf(res.headers.location)).toBe(`/v2/target/blobs/${digest}`);
      expect(res.headers['docker-content-digest']).toBe(digest);
      await request(h.app).head(`/v2/target/blobs/${digest}`).expect(200);
    });

    it('opens a normal session when the source lacks the blob or no source is named (202)', async () => {
      const digest = await pushBlob(h.app, 'elsewhere', 'data');
      const missing = await request(h.app).post(`/v2/target/blobs/uploads/?mount=${digest}&from=source`).expect(202);
      expect(missing.headers['docker-upload-uuid']).toBeDefined();
      await request(h.app).post(`/v2/target/blobs/uploads/?mount=${digest}`).expect(202);
      await request(h.app).head(`/v2/target/blobs/${digest}`).expect(404);
    });

    it('rejects a malformed mount digest or source name', async () => {
      expect(errorCode(await request(h.app).post('/v2/target/blobs/uploads/?mount=sha256:bad&from=source').expect(400))).toBe('DIGEST_INVALID');
      expect(errorCode(await request(h.app).post(`/v2/target/blobs/uploads/?mount=${sha256('x')}&from=Bad`).expect(400))).toBe('NAME_INVALID');
    });
  });
}
