import request from 'supertest';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import type { Logger, StorageDriver } from '@berth/storage-driver';
import { appOptions, imageManifest, listen, pathOf, pushBlob, putManifest, rawRequest, sha256, testApp, withDigest } from './support/harness';

/** A logger that records what it is given (to assert on access-log lines). */
function recordingLogger(entries: Array<{ level: string; message: string; meta?: Record<string, unknown> }>): Logger {
  const make = (fields: Record<string, unknown>): Logger => ({
    error: (message, meta) => entries.push({ level: 'error', message, meta: { ...fields, ...meta } }),
    warn: (message, meta) => entries.push({ level: 'warn', message, meta: { ...fields, ...meta } }),
    info: (message, meta) => entries.push({ level: 'info', message, meta: { ...fields, ...meta } }),
    debug: (message, meta) => entries.push({ level: 'debug', message, meta: { ...fields, ...meta } }),
    child: (meta) => make({ ...fields, ...meta }),
  });
  return make({});
}

describe('createApp options', () => {
  it('serves under http.prefix and puts the prefix in Locations and Links; other paths fall through', async () => {
    const app = testApp(appOptions(createInMemoryDriver(), { prefix: '/my/prefix/' }));
    await request(app).get('/my/prefix/v2/').expect(200);
    const res = await request(app).post('/my/prefix/v2/app/blobs/uploads/').expect(202);
    expect(pathOf(res.headers.location)).toMatch(/^\/my\/prefix\/v2\/app\/blobs\/uploads\/[0-9a-f-]{36}\?_state=/);
    await request(app).put(withDigest(res.headers.location, sha256('x'))).send(Buffer.from('x')).expect(201);
    const outside = await request(app).get('/v2/').expect(404);
    expect(outside.headers['docker-distribution-api-version']).toBe('registry/2.0');
  });

  it('lowers a tag list n above tags.maxtags and links to the next page with the lowered n', async () => {
    const app = testApp(appOptions(createInMemoryDriver(), { maxTags: 2 }));
    const bytes = await imageManifest(app, 'app');
    for (const tag of ['a', 'b', 'c', 'd', 'e']) await putManifest(app, 'app', tag, bytes);
    const first = await request(app).get('/v2/app/tags/list?n=5').expect(200);
    expect(first.body.tags).toEqual(['a', 'b']);
    expect(first.headers.link).toBe('</v2/app/tags/list?n=2&last=b>; rel="next"');
    const last = await request(app).get('/v2/app/tags/list?n=5&last=c').expect(200);
    expect([last.body.tags, last.headers.link]).toEqual([['d', 'e'], undefined]);
    // Without n every tag, as distribution 3.
    expect((await request(app).get('/v2/app/tags/list').expect(200)).body.tags).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('uses http.host for absolute Locations, or relative ones with relativeurls', async () => {
    const driver = createInMemoryDriver();
    const hosted = testApp(appOptions(driver, { host: 'https://registry.example.com/' }));
    const a = await request(hosted).post('/v2/app/blobs/uploads/').expect(202);
    expect(a.headers.location).toMatch(/^https:\/\/registry\.example\.com\/v2\/app\/blobs\/uploads\//);
    const relative = testApp(appOptions(driver, { relativeUrls: true }));
    const b = await request(relative).post('/v2/app/blobs/uploads/').expect(202);
    expect(b.headers.location).toMatch(/^\/v2\/app\/blobs\/uploads\//);
  });

  it('honours X-Forwarded-Proto/Host and Forwarded when building Locations', async () => {
    const app = testApp(appOptions(createInMemoryDriver()));
    const a = await request(app).post('/v2/app/blobs/uploads/').set('X-Forwarded-Proto', 'https').set('X-Forwarded-Host', 'reg.example').expect(202);
    expect(a.headers.location).toMatch(/^https:\/\/reg\.example\/v2\//);
    const b = await request(app).post('/v2/app/blobs/uploads/').set('Forwarded', 'for=1.2.3.4;proto=https;host="other.example"').expect(202);
    expect(b.headers.location).toMatch(/^https:\/\/other\.example\/v2\//);
  });

  it('adds http.headers to every response, errors included', async () => {
    const app = testApp(appOptions(createInMemoryDriver(), { headers: { 'X-Content-Type-Options': ['nosniff'], 'X-Extra': ['a', 'b'] } }));
    for (const res of [await request(app).get('/v2/').expect(200), await request(app).get('/v2/app/manifests/none').expect(404)]) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-extra']).toBe('a, b');
      expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    }
  });

  it('redirects blob GET and HEAD with 307 when the driver offers a URL and redirects are on', async () => {
    const base = createInMemoryDriver();
    const driver: StorageDriver = { ...base, redirectUrl: async (path, method) => `https://cdn.example${path}?method=${method}` };
    const digest = await pushBlob(testApp(appOptions(driver)), 'app', 'redirected');
    const redirecting = testApp(appOptions(driver, { redirect: true }));
    const get = await request(redirecting).get(`/v2/app/blobs/${digest}`).expect(307);
    expect(get.headers.location).toBe(`https://cdn.example/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data?method=GET`);
    expect((await request(redirecting).head(`/v2/app/blobs/${digest}`).expect(307)).headers.location).toMatch(/method=HEAD$/);
    await request(testApp(appOptions(driver, { redirect: false }))).get(`/v2/app/blobs/${digest}`).expect(200);
    await request(redirecting).get(`/v2/app/blobs/${sha256('unknown')}`).expect(404);
  });

  it('logs one access line per request, with 499 for a client that aborted mid-body, and no error', async () => {
    const entries: Array<{ level: string; message: string; meta?: Record<string, unknown> }> = [];
    const app = testApp(appOptions(createInMemoryDriver(), { logger: recordingLogger(entries) }));
    const server = await listen(app);
    try {
      const start = await request(app).post('/v2/app/blobs/uploads/').expect(202);
      await rawRequest(server.port, 'PATCH', pathOf(start.headers.location), {
        headers: { 'Content-Length': '100000' },
        chunks: [Buffer.alloc(30_000, 1)],
        abort: true,
      });
      const lines = entries.filter((e) => e.message === 'request');
      expect(lines.map((l) => [l.meta?.method, l.meta?.status])).toEqual([
        ['POST', 202],
        ['PATCH', 499],
      ]);
      expect(entries.filter((e) => e.level === 'error')).toEqual([]);
      await request(app).get(pathOf(start.headers.location)).expect(204);
    } finally {
      await server.close();
    }
  });

  it('logs a server fault as UNKNOWN/500 with its stack, without leaking it to the client', async () => {
    const entries: Array<{ level: string; message: string; meta?: Record<string, unknown> }> = [];
    const base = createInMemoryDriver();
    const broken: StorageDriver = { ...base, getContent: async () => Promise.reject(new Error('disk on fire')) };
    const app = testApp(appOptions(broken, { logger: recordingLogger(entries) }));
    const res = await request(app).get('/v2/app/manifests/v1').expect(500);
    expect(res.body).toEqual({ errors: [{ code: 'UNKNOWN', message: 'internal server error' }] });
    const error = entries.find((e) => e.level === 'error');
    expect(error?.meta?.error).toBe('disk on fire');
    expect(String(error?.meta?.stack)).toContain('disk on fire');
  });
});
