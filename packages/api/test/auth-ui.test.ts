import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import type express from 'express';
import request from 'supertest';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { createAuthenticator } from '@berth/api';
import { libtrustKeyId } from '../src/auth/trust';
import { cleanupAll } from '../../cli/test/helpers/processes';
import { ISSUER, OPENSSL, SERVICE, claims, makeTokenFixture, startTokenServer, type TokenFixture, type TokenServer } from './auth-support/token-fixture';
import { appOptions, errorCode, imageManifest, putManifest, testApp } from './support/harness';
import { testUiAssets } from './support/ui-assets';

/**
 * The web UI behind `auth`: with htpasswd nothing is shown without credentials (the pages answer
 * the Basic challenge a browser asks the user with); with anonymous pull the pages are read-only
 * until the user signs in at `ui/login`; with tokens the UI offers only what the token's scopes
 * allow.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-ui-auth-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await cleanupAll();
});

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ALICE = basic('alice', 'right horse');
const CHALLENGE = 'Basic realm="berth ui realm"';

async function htpasswdApp(anonymousPull: boolean): Promise<express.Express> {
  const path = join(dir, `htpasswd-${Math.random()}`);
  await writeFile(path, `alice:${bcrypt.hashSync('right horse', 5).replace(/^\$2[ab]\$/, '$2y$')}\n`);
  const driver = createInMemoryDriver();
  const open = testApp(appOptions(driver));
  await putManifest(open, 'secret/app', 'v1', await imageManifest(open, 'secret/app'));
  return testApp(appOptions(driver, { ui: testUiAssets(), auth: createAuthenticator({ type: 'htpasswd', realm: 'berth ui realm', path, anonymousPull }) }));
}

describe('the web UI with htpasswd', () => {
  it('shows nothing without credentials: pages and JSON answer the Basic challenge, wrong passwords too', async () => {
    const app = await htpasswdApp(false);
    for (const path of ['/ui/', '/ui/app.js', '/ui/login', '/ui/api/repositories', '/ui/api/repositories/secret/app/tags', '/ui/api/repositories/secret/app/manifests/v1']) {
      for (const auth of [undefined, basic('alice', 'wrong')]) {
        const req = request(app).get(path);
        const res = await (auth ? req.set('Authorization', auth) : req).expect(401);
        expect(res.headers['www-authenticate']).toBe(CHALLENGE);
        // The error only, naming what was asked for (the path's own name), none of the data.
        expect(res.body).toEqual({ errors: [expect.objectContaining({ code: 'UNAUTHORIZED' })] });
        expect(res.text).not.toContain('"v1"');
        if (!path.includes('secret/app')) expect(res.text).not.toContain('secret/app');
      }
    }
    // The session says only that a sign-in is needed.
    expect((await request(app).get('/ui/api/session').expect(200)).body).toMatchObject({ user: null, auth: { scheme: 'htpasswd', anonymousPull: false, challenge: CHALLENGE } });
  });

  it('shows everything after signing in, and offers deletes', async () => {
    const app = await htpasswdApp(false);
    expect((await request(app).get('/ui/').set('Authorization', ALICE).expect(200)).text).toContain('<script');
    expect((await request(app).get('/ui/api/session').set('Authorization', ALICE).expect(200)).body.user).toBe('alice');
    expect((await request(app).get('/ui/api/repositories').set('Authorization', ALICE).expect(200)).body.repositories).toEqual(['secret/app']);
    expect((await request(app).get('/ui/api/repositories/secret/app/tags').set('Authorization', ALICE).expect(200)).body.canDelete).toBe(true);
    expect((await request(app).get('/ui/login').set('Authorization', ALICE).expect(303)).headers.location).toBe('./');
  });

  it('with anonymous pull shows read-only pages without credentials, and signs in at ui/login', async () => {
    const app = await htpasswdApp(true);
    await request(app).get('/ui/').expect(200);
    expect((await request(app).get('/ui/api/repositories').expect(200)).body.repositories).toEqual(['secret/app']);
    expect((await request(app).get('/ui/api/repositories/secret/app/tags').expect(200)).body.canDelete).toBe(false);
    expect((await request(app).get('/ui/api/repositories/secret/app/manifests/v1').expect(200)).body.canDelete).toBe(false);
    expect((await request(app).get('/ui/api/session').expect(200)).body.user).toBeNull();
    expect(errorCode(await request(app).delete('/ui/api/repositories/secret/app/manifests/v1').expect(401))).toBe('UNAUTHORIZED');
    expect((await request(app).get('/ui/login').expect(401)).headers['www-authenticate']).toBe(CHALLENGE);
    expect((await request(app).get('/ui/api/repositories/secret/app/tags').set('Authorization', ALICE).expect(200)).body.canDelete).toBe(true);
    await request(app).delete('/ui/api/repositories/secret/app/manifests/v1').set('Authorization', ALICE).expect(202);
  });
});

const describeToken = existsSync(OPENSSL) ? describe : describe.skip;
if (!existsSync(OPENSSL)) console.warn(`SKIPPED the web UI with token authentication: ${OPENSSL} is not installed`);

describeToken('the web UI with token authentication', () => {
  let fixture: TokenFixture;
  let server: TokenServer;
  let app: express.Express;

  beforeAll(async () => {
    fixture = await makeTokenFixture((cert) => libtrustKeyId(cert.publicKey));
    server = await startTokenServer(fixture, { users: {} });
    const driver = createInMemoryDriver();
    const open = testApp(appOptions(driver));
    await putManifest(open, 'app', 'v1', await imageManifest(open, 'app'));
    const auth = createAuthenticator({ type: 'token', realm: server.realm, service: SERVICE, issuer: ISSUER, rootCertBundle: fixture.bundle, jwks: fixture.jwks });
    app = testApp(appOptions(driver, { ui: testUiAssets(), auth }));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves the pages, whose session names the realm to get a token from, and refuses the data without a token', async () => {
    await request(app).get('/ui/').expect(200);
    const session = (await request(app).get('/ui/api/session').expect(200)).body;
    expect(session).toMatchObject({ user: null, auth: { scheme: 'token', anonymousPull: false } });
    expect(session.auth.challenge).toContain(`realm="${server.realm}"`);
    const refused = await request(app).get('/ui/api/repositories/app/tags').expect(401);
    expect(refused.headers['www-authenticate']).toContain('scope="repository:app:pull"');
  });

  it('offers a delete only to a token whose scopes allow it, and lists the repositories only with the catalog scope', async () => {
    const puller = await server.sign('x5c', claims([{ type: 'repository', name: 'app', actions: ['pull'] }]));
    const deleter = await server.sign('x5c', claims([{ type: 'repository', name: 'app', actions: ['pull', 'delete'] }]));
    const cataloguer = await server.sign('x5c', claims([{ type: 'registry', name: 'catalog', actions: ['*'] }]));
    expect((await request(app).get('/ui/api/repositories/app/tags').set('Authorization', `Bearer ${puller}`).expect(200)).body.canDelete).toBe(false);
    expect((await request(app).get('/ui/api/repositories/app/tags').set('Authorization', `Bearer ${deleter}`).expect(200)).body.canDelete).toBe(true);
    await request(app).get('/ui/api/repositories').set('Authorization', `Bearer ${puller}`).expect(401);
    expect((await request(app).get('/ui/api/repositories').set('Authorization', `Bearer ${cataloguer}`).expect(200)).body.repositories).toEqual(['app']);
    expect((await request(app).get('/ui/api/session').set('Authorization', `Bearer ${puller}`).expect(200)).body.user).toBe(claims([]).sub);
  });
});
