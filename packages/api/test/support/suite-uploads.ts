import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { binary, errorCode, listen, pathOf, rawRequest, sha256, useHarness, withDigest, type DriverUnderTest } from './harness';

/** Upload sessions: chunked (end-5), status (end-13), cancel, `_state`, several instances, aborts. */
export function uploadTests(dut: DriverUnderTest): void {
  const h = useHarness(dut);

  async function start(app = h.app, name = 'app'): Promise<string> {
    const res = await request(app).post(`/v2/${name}/blobs/uploads/`).expect(202);
    return res.headers.location;
  }

  function patch(location: string, chunk: Buffer, start?: number, app = h.app): request.Test {
    const req = request(app).patch(pathOf(location)).set('Content-Type', 'application/octet-stream');
    if (start !== undefined) req.set('Content-Range', `${start}-${start + chunk.length - 1}`);
    return req.send(chunk);
  }

  it('pushes in ordered chunks, reporting the range after each, and refuses an out-of-order chunk with 416', async () => {
    const content = randomBytes(3000);
    let location = await start();
    let res = await patch(location, content.subarray(0, 1000), 0).expect(202);
    expect(res.headers.range).toBe('0-999');
    location = res.headers.location;
    const outOfOrder = await patch(location, content.subarray(2000), 2000).expect(416);
    expect(errorCode(outOfOrder)).toBe('RANGE_INVALID');
    expect(outOfOrder.headers.range).toBe('0-999');
    expect(outOfOrder.headers.location).toBeDefined();
    const status = await request(h.app).get(pathOf(location)).expect(204);
    expect(status.headers.range).toBe('0-999');
    expect(status.headers['docker-upload-uuid']).toBeDefined();
    res = await patch(status.headers.location, content.subarray(1000, 2000), 1000).expect(202);
    expect(res.headers.range).toBe('0-1999');
    const put = await request(h.app)
      .put(withDigest(res.headers.location, sha256(content)))
      .set('Content-Range', '2000-2999')
      .send(content.subarray(2000))
      .expect(201);
    expect(put.headers['docker-content-digest']).toBe(sha256(content));
    const get = await request(h.app).get(pathOf(put.headers.location)).buffer(true).parse(binary).expect(200);
    expect(Buffer.compare(get.body as Buffer, content)).toBe(0);
  });

  it('refuses an out-of-order final chunk on PUT with 416', async () => {
    const location = await start();
    const res = await request(h.app).put(withDigest(location, sha256('abc'))).set('Content-Range', '5-7').send(Buffer.from('abc')).expect(416);
    expect(res.headers.range).toBe('0-0');
  });

  it('accepts a streamed PATCH without Content-Range or Content-Length', async () => {
    const server = await listen(h.app);
    try {
      const chunks = [randomBytes(70_000), randomBytes(50_000), randomBytes(1)];
      const content = Buffer.concat(chunks);
      const location = await start();
      const res = await rawRequest(server.port, 'PATCH', pathOf(location), { chunks });
      expect(res?.status).toBe(202);
      expect(res?.headers.range).toBe(`0-${content.length - 1}`);
      await request(h.app).put(withDigest(String(res?.headers.location), sha256(content))).expect(201);
    } finally {
      await server.close();
    }
  });

  it('rejects a chunk whose Content-Length differs from its Content-Range, and junk ranges', async () => {
    const location = await start();
    const mismatch = await request(h.app).patch(pathOf(location)).set('Content-Range', '0-9').send(Buffer.from('abc')).expect(400);
    expect(errorCode(mismatch)).toBe('SIZE_INVALID');
    const junk = await request(h.app).patch(pathOf(location)).set('Content-Range', 'bytes=lots').send(Buffer.from('abc')).expect(416);
    expect(errorCode(junk)).toBe('RANGE_INVALID');
    expect(junk.headers.range).toBe('0-0');
  });

  it('rejects a wrong final digest with DIGEST_INVALID and does not commit', async () => {
    const location = await start();
    const res = await patch(location, Buffer.from('some content'), 0).expect(202);
    const put = await request(h.app).put(withDigest(res.headers.location, sha256('other content'))).expect(400);
    expect(errorCode(put)).toBe('DIGEST_INVALID');
    await request(h.app).head(`/v2/app/blobs/${sha256('some content')}`).expect(404);
    await request(h.app).head(`/v2/app/blobs/${sha256('other content')}`).expect(404);
  });

  it('keeps the session when the PUT digest is malformed or missing', async () => {
    const location = await start();
    const res = await patch(location, Buffer.from('data'), 0).expect(202);
    expect(errorCode(await request(h.app).put(withDigest(res.headers.location, 'sha256:xyz')).expect(400))).toBe('DIGEST_INVALID');
    expect(errorCode(await request(h.app).put(pathOf(res.headers.location)).expect(400))).toBe('DIGEST_INVALID');
    await request(h.app).get(pathOf(res.headers.location)).expect(204);
    await request(h.app).put(withDigest(res.headers.location, sha256('data'))).expect(201);
  });

  it('does not show a blob before its upload is committed', async () => {
    const content = Buffer.from('pending');
    const location = await start();
    await patch(location, content, 0).expect(202);
    await request(h.app).head(`/v2/app/blobs/${sha256(content)}`).expect(404);
  });

  it('cancels a session: 204, then BLOB_UPLOAD_UNKNOWN and nothing visible', async () => {
    const location = await start();
    await patch(location, Buffer.from('discard me'), 0).expect(202);
    await request(h.app).delete(pathOf(location)).expect(204);
    expect(errorCode(await request(h.app).get(pathOf(location)).expect(404))).toBe('BLOB_UPLOAD_UNKNOWN');
    expect(errorCode(await patch(location, Buffer.from('x')).expect(404))).toBe('BLOB_UPLOAD_UNKNOWN');
    await request(h.app).head(`/v2/app/blobs/${sha256('discard me')}`).expect(404);
    expect(errorCode(await request(h.app).delete(pathOf(location)).expect(404))).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('answers BLOB_UPLOAD_UNKNOWN for unknown or malformed upload ids', async () => {
    expect(errorCode(await request(h.app).get('/v2/app/blobs/uploads/6f1c3e9e-0000-4000-8000-000000000000').expect(404))).toBe('BLOB_UPLOAD_UNKNOWN');
    expect(errorCode(await request(h.app).patch('/v2/app/blobs/uploads/not-an-id').send('x').expect(404))).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('rejects a tampered _state, or one issued for another upload, with BLOB_UPLOAD_INVALID', async () => {
    const location = await start();
    const other = await start();
    const url = new URL(location);
    const state = url.searchParams.get('_state') as string;
    const [payload, signature] = state.split('.');
    const forged = JSON.parse(Buffer.from(payload, 'base64url').toString());
    forged.offset = 999;
    url.searchParams.set('_state', `${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`);
    expect(errorCode(await request(h.app).get(pathOf(url.toString())).expect(400))).toBe('BLOB_UPLOAD_INVALID');
    url.searchParams.set('_state', 'garbage');
    expect(errorCode(await request(h.app).get(pathOf(url.toString())).expect(400))).toBe('BLOB_UPLOAD_INVALID');
    const mixed = new URL(other);
    mixed.searchParams.set('_state', state);
    expect(errorCode(await request(h.app).get(pathOf(mixed.toString())).expect(400))).toBe('BLOB_UPLOAD_INVALID');
    expect(errorCode(await request(h.app).get(pathOf(location).replace('/v2/app/', '/v2/other/')).expect(400))).toBe('BLOB_UPLOAD_INVALID');
  });

  it('continues a session on a second instance sharing storage and secret, still verifying the digest', async () => {
    const second = h.makeApp();
    const content = randomBytes(40_000);
    const location = await start(h.app);
    const first = await patch(location, content.subarray(0, 15_000), 0, h.app).expect(202);
    const moved = await patch(first.headers.location, content.subarray(15_000, 30_000), 15_000, second).expect(202);
    expect(moved.headers.range).toBe('0-29999');
    const bad = await request(second).put(withDigest(moved.headers.location, sha256('wrong'))).send(content.subarray(30_000)).expect(400);
    expect(errorCode(bad)).toBe('DIGEST_INVALID');

    const again = await start(second);
    const part = await patch(again, content.subarray(0, 20_000), 0, second).expect(202);
    await request(h.app).put(withDigest(part.headers.location, sha256(content))).send(content.subarray(20_000)).expect(201);
    const get = await request(second).get(`/v2/app/blobs/${sha256(content)}`).buffer(true).parse(binary).expect(200);
    expect(Buffer.compare(get.body as Buffer, content)).toBe(0);
  });

  it('refuses the _state of an instance with another secret', async () => {
    const foreign = h.makeApp({ secret: 'another-secret' });
    const location = await start(h.app);
    expect(errorCode(await request(foreign).get(pathOf(location)).expect(400))).toBe('BLOB_UPLOAD_INVALID');
  });

  it('leaves the session resumable when the client aborts mid-body', async () => {
    const server = await listen(h.app);
    try {
      const content = randomBytes(200_000);
      const location = await start();
      await rawRequest(server.port, 'PATCH', pathOf(location), {
        headers: { 'Content-Length': String(content.length), 'Content-Type': 'application/octet-stream' },
        chunks: [content.subarray(0, 64_000), content.subarray(64_000, 100_000)],
        abort: true,
      });
      const status = await request(h.app).get(pathOf(location)).expect(204);
      const size = Number(/^0-(\d+)$/.exec(status.headers.range)?.[1]) + 1;
      expect(size).toBeLessThanOrEqual(100_000);
      const offset = status.headers.range === '0-0' ? 0 : size;
      await request(h.app)
        .put(withDigest(status.headers.location, sha256(content)))
        .set('Content-Range', `${offset}-${content.length - 1}`)
        .send(content.subarray(offset))
        .expect(201);
    } finally {
      await server.close();
    }
  });

  it('keeps one consistent blob when many clients push it at once', async () => {
    const content = randomBytes(256 * 1024);
    const digest = sha256(content);
    const results = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const location = await start(h.app, `team/r${i % 2}`);
        const first = await patch(location, content.subarray(0, 100_000), 0);
        return request(h.app).put(withDigest(first.headers.location, digest)).send(content.subarray(100_000));
      }),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
    for (const name of ['team/r0', 'team/r1']) {
      const get = await request(h.app).get(`/v2/${name}/blobs/${digest}`).buffer(true).parse(binary).expect(200);
      expect(Buffer.compare(get.body as Buffer, content)).toBe(0);
    }
  });
}
