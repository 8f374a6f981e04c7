import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import request from 'supertest';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { createAuthenticator, type AppOptions } from '@berth/api';
import { appOptions, testApp, imageManifest, putManifest } from './support/harness';

/** Browser UIs with authentication on: CORS preflights from http.headers, never a 401; and `silly`. */

let htpasswd: string;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-cors-'));
  htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, `ui:${bcrypt.hashSync('ui-pw', 5)}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function app(headers: Record<string, string[]>, overrides: Partial<AppOptions> = {}) {
  return testApp(appOptions(createInMemoryDriver(), { headers, auth: createAuthenticator({ type: 'htpasswd', realm: 'r', path: htpasswd }), ...overrides }));
}
const preflight = (registry: ReturnType<typeof app>, path: string, origin = 'https://ui.example') =>
  request(registry).options(path).set('Origin', origin).set('Access-Control-Request-Method', 'DELETE').set('Access-Control-Request-Headers', 'authorization, accept');

describe('CORS with authentication on', () => {
  it('answers a preflight with 204 and the allowed origin, methods and asked headers, without credentials', async () => {
    const registry = app({ 'Access-Control-Allow-Origin': ['https://ui.example'], 'Access-Control-Allow-Credentials': ['true'] });
    const res = await preflight(registry, '/v2/app/manifests/sha256:abc').expect(204);
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': 'https://ui.example',
      'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers': 'authorization, accept',
      'access-control-allow-credentials': 'true',
      'content-length': '0',
    });
    expect(res.headers.vary).toMatch(/Origin/);
    expect(res.headers['www-authenticate']).toBeUndefined();
    await preflight(registry, '/v2/').expect(204);
    await preflight(registry, '/v2/_catalog').expect(204);
  });

  it('keeps configured Allow-Methods and Allow-Headers, and picks the one matching origin of several', async () => {
    const registry = app({
      'Access-Control-Allow-Origin': ['https://a.example', 'https://b.example'],
      'Access-Control-Allow-Methods': ['HEAD', 'GET', 'OPTIONS', 'DELETE'],
      'Access-Control-Allow-Headers': ['Authorization', 'Accept'],
    });
    const res = await preflight(registry, '/v2/app/tags/list', 'https://b.example').expect(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://b.example');
    expect(res.headers['access-control-allow-methods']).toBe('HEAD, GET, OPTIONS, DELETE');
    expect(res.headers['access-control-allow-headers']).toBe('Authorization, Accept');
    const stranger = await preflight(registry, '/v2/app/tags/list', 'https://evil.example').expect(204);
    expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
    const get = await request(registry).get('/v2/').set('Origin', 'https://a.example').expect(401);
    expect(get.headers['access-control-allow-origin']).toBe('https://a.example');
  });

  it('exposes Docker-Content-Digest to scripts when http.headers says so, on authenticated responses', async () => {
    const headers = { 'Access-Control-Allow-Origin': ['*'], 'Access-Control-Expose-Headers': ['Docker-Content-Digest', 'WWW-Authenticate'] };
    const driver = createInMemoryDriver();
    const open = testApp(appOptions(driver));
    await putManifest(open, 'app', 'v1', await imageManifest(open, 'app'));
    const registry = testApp(appOptions(driver, { headers, auth: createAuthenticator({ type: 'htpasswd', realm: 'r', path: htpasswd }) }));
    const res = await request(registry)
      .get('/v2/app/manifests/v1')
      .set('Origin', 'https://ui.example')
      .set('Authorization', `Basic ${Buffer.from('ui:ui-pw').toString('base64')}`)
      .expect(200);
    expect(res.headers['access-control-expose-headers']).toBe('Docker-Content-Digest, WWW-Authenticate');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['docker-content-digest']).toMatch(/^sha256:/);
  });

  it('leaves OPTIONS to the API (405) when no origin is configured, still without a 401', async () => {
    const res = await preflight(app({}), '/v2/app/manifests/v1').expect(405);
    expect(res.body.errors[0].code).toBe('UNSUPPORTED');
  });

  it('answers preflights under http.prefix only for API paths', async () => {
    const registry = app({ 'Access-Control-Allow-Origin': ['*'] }, { prefix: '/reg' });
    await preflight(registry, '/reg/v2/app/tags/list').expect(204);
    await preflight(registry, '/v2/app/tags/list').expect(404);
  });
});

describe('silly authentication', () => {
  const silly = () => testApp(appOptions(createInMemoryDriver(), { auth: createAuthenticator({ type: 'silly', realm: 'https://auth.example/token', service: 'registry' }) }));

  it('passes any Authorization header as user silly, and challenges without one, one scope per access', async () => {
    const registry = silly();
    await request(registry).post('/v2/app/blobs/uploads/').set('Authorization', 'anything').expect(202);
    const res = await request(registry).post('/v2/app/blobs/uploads/').expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="https://auth.example/token",service="registry",scope="repository:app:pull repository:app:push"');
    const base = await request(registry).get('/v2/').expect(401);
    expect(base.headers['www-authenticate']).toBe('Bearer realm="https://auth.example/token",service="registry"');
  });

  it('warns that it is for development only', () => {
    expect(createAuthenticator({ type: 'silly', realm: 'r', service: 's' }).warnings).toEqual([expect.stringMatching(/development only/)]);
  });
});
