import { existsSync } from 'node:fs';
import express from 'express';
import request from 'supertest';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { createAuthenticator, AuthSetupError, type TokenOptions } from '@berth/api';
import { libtrustKeyId } from '../src/auth/trust';
import { cleanupAll } from '../../cli/test/helpers/processes';
import { ISSUER, OPENSSL, SERVICE, claims, makeTokenFixture, startTokenServer, type Grant, type TokenFixture, type TokenServer } from './auth-support/token-fixture';
import { appOptions, testApp, pushBlob, sha256 } from './support/harness';

/**
 * `auth.token` over real HTTP: tokens signed by a separate token server (jose), verified by Berth
 * against an openssl PKI and a JWKS file, for every key-selection path, claim check and scope rule.
 */

const describeToken = existsSync(OPENSSL) ? describe : describe.skip;
if (!existsSync(OPENSSL)) console.warn(`SKIPPED token authentication tests: ${OPENSSL} is not installed`);

const pull = (name: string): Grant => ({ type: 'repository', name, actions: ['pull'] });
const pullPush = (name: string): Grant => ({ type: 'repository', name, actions: ['pull', 'push'] });
const now = (): number => Math.floor(Date.now() / 1000);

describeToken('token authentication', () => {
  let fixture: TokenFixture;
  let server: TokenServer;

  beforeAll(async () => {
    fixture = await makeTokenFixture((cert) => libtrustKeyId(cert.publicKey));
    server = await startTokenServer(fixture, {
      users: { alice: { password: 'alice-secret', grants: [{ type: 'repository', name: '*', actions: ['pull', 'push', 'delete'] }] } },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await cleanupAll();
  });

  function options(overrides: Partial<TokenOptions> = {}): TokenOptions {
    return { type: 'token', realm: server.realm, service: SERVICE, issuer: ISSUER, rootCertBundle: fixture.bundle, jwks: fixture.jwks, ...overrides };
  }
  function app(overrides: Partial<TokenOptions> = {}, driver = createInMemoryDriver()): express.Express {
    return testApp(appOptions(driver, { auth: createAuthenticator(options(overrides)) }));
  }
  const challenge = (extra = ''): string => `Bearer realm="${server.realm}",service="${SERVICE}"${extra}`;

  it('challenges GET /v2/ without a token, and answers it for a valid token that grants nothing', async () => {
    const registry = app();
    const res = await request(registry).get('/v2/').expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge());
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.body).toEqual({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    const token = await server.sign('x5c', claims([]));
    await request(registry).get('/v2/').set('Authorization', `Bearer ${token}`).expect(200);
  });

  it.each([
    ['an x5c chain through an intermediate to the bundle root', 'x5c'],
    ['a JWKS RSA key by kid (RS256)', 'rsa-kid'],
    ['a JWKS RSA key by kid (PS256)', 'ps-kid'],
    ['a JWKS Ed25519 key by kid (EdDSA)', 'ed-kid'],
    ['a JWKS secret by kid (HS256)', 'hmac-kid'],
    ['the bundle root key by its RFC 7638 thumbprint', 'root-thumbprint'],
    ['the bundle root key by its libtrust key ID (distribution 2.x)', 'root-libtrust'],
    ['an embedded jwk matching a JWKS key', 'jwk-embedded'],
  ] as const)('accepts a token signed with %s', async (_name, signer) => {
    const token = await server.sign(signer, claims([pull('app')]));
    const res = await request(app()).get('/v2/app/tags/list').set('Authorization', `Bearer ${token}`).expect(404);
    expect(res.body.errors[0].code).toBe('NAME_UNKNOWN');
  });

  it.each([
    ['an x5c chain to a root not in the bundle', 'x5c-untrusted'],
    ['an x5c leaf certificate that has expired', 'x5c-expired'],
    ['an x5c chain through a certificate that is no CA', 'x5c-rogue'],
    ['a kid of a trusted key but another key (wrong signature)', 'impostor'],
  ] as const)('refuses a token signed with %s: invalid_token', async (_name, signer) => {
    const token = await server.sign(signer, claims([pull('app')]));
    const res = await request(app()).get('/v2/app/tags/list').set('Authorization', `Bearer ${token}`).expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge(',scope="repository:app:pull",error="invalid_token"'));
    expect(res.body.errors[0]).toEqual({
      code: 'UNAUTHORIZED',
      message: 'authentication required',
      detail: [{ Type: 'repository', Class: '', Name: 'app', Action: 'pull' }],
    });
  });

  // The claims are made when the case runs, not when the file is loaded (a busy machine may take
  // longer than the leeway between the two).
  it.each([
    ['from another issuer', () => ({ iss: 'someone-else' })],
    ['for another audience', () => ({ aud: 'another-registry' })],
    ['expired beyond the 60 s leeway', () => ({ exp: now() - 90 })],
    ['not valid before a time beyond the leeway', () => ({ nbf: now() + 90 })],
    ['without exp', () => ({ exp: undefined })],
  ])('refuses a token %s: invalid_token', async (_name, overrides) => {
    const token = await server.sign('x5c', claims([pull('app')], overrides()));
    const res = await request(app()).get('/v2/app/manifests/v1').set('Authorization', `Bearer ${token}`).expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge(',scope="repository:app:pull",error="invalid_token"'));
  });

  it('accepts a token within the leeway (expired 30 s ago, valid in 30 s) and an audience list naming the service', async () => {
    const registry = app();
    for (const overrides of [{ exp: now() - 30 }, { nbf: now() + 30 }, { aud: ['other', SERVICE] }]) {
      const token = await server.sign('x5c', claims([pull('app')], overrides));
      await request(registry).get('/v2/app/manifests/v1').set('Authorization', `Bearer ${token}`).expect(404);
    }
  });

  it('stops accepting a token it verified before once the token expires (leeway included)', async () => {
    const registry = app();
    // Still valid (leeway included) for 5 s: room for a slow first request on a busy machine.
    const exp = now() - 55;
    const token = await server.sign('x5c', claims([pull('app')], { exp }));
    await request(registry).get('/v2/app/manifests/v1').set('Authorization', `Bearer ${token}`).expect(404);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (exp + 60) * 1000 - Date.now()) + 1100));
    await request(registry).get('/v2/app/manifests/v1').set('Authorization', `Bearer ${token}`).expect(401);
  });

  it('refuses a malformed token, and a token whose alg is not in signingalgorithms', async () => {
    const res = await request(app()).get('/v2/').set('Authorization', 'Bearer not.a-token').expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge(',error="invalid_token"'));
    const restricted = app({ signingAlgorithms: ['ES256'] });
    await request(restricted).get('/v2/').set('Authorization', `Bearer ${await server.sign('x5c', claims([]))}`).expect(200);
    await request(restricted).get('/v2/').set('Authorization', `Bearer ${await server.sign('rsa-kid', claims([]))}`).expect(401);
  });

  it('answers insufficient_scope with the exact challenge when the token grants another repository', async () => {
    const token = await server.sign('x5c', claims([pullPush('other')]));
    const res = await request(app()).get('/v2/app/manifests/v1').set('Authorization', `Bearer ${token}`).expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge(',scope="repository:app:pull",error="insufficient_scope"'));
  });

  it('lets a pull-only token pull but not push (pull,push asked in one scope)', async () => {
    const driver = createInMemoryDriver();
    const digest = await pushBlob(testApp(appOptions(driver)), 'app', 'content');
    const registry = app({}, driver);
    const token = await server.sign('x5c', claims([pull('app')]));
    await request(registry).get(`/v2/app/blobs/${digest}`).set('Authorization', `Bearer ${token}`).expect(200);
    await request(registry).head(`/v2/app/blobs/${digest}`).set('Authorization', `Bearer ${token}`).expect(200);
    for (const attempt of [
      request(registry).post('/v2/app/blobs/uploads/'),
      request(registry).put('/v2/app/manifests/v1').set('Content-Type', 'application/vnd.oci.image.manifest.v1+json').send('{}'),
      request(registry).patch('/v2/app/blobs/uploads/11111111-2222-3333-4444-555555555555'),
    ]) {
      const res = await attempt.set('Authorization', `Bearer ${token}`).expect(401);
      expect(res.headers['www-authenticate']).toBe(challenge(',scope="repository:app:pull,push",error="insufficient_scope"'));
    }
  });

  it('needs the delete action to delete, and push (not delete) to cancel an upload', async () => {
    const driver = createInMemoryDriver();
    const digest = await pushBlob(testApp(appOptions(driver)), 'app', 'to delete');
    const registry = app({}, driver);
    const pusher = await server.sign('x5c', claims([pullPush('app')]));
    const denied = await request(registry).delete(`/v2/app/blobs/${digest}`).set('Authorization', `Bearer ${pusher}`).expect(401);
    expect(denied.headers['www-authenticate']).toBe(challenge(',scope="repository:app:delete",error="insufficient_scope"'));
    const deleter = await server.sign('x5c', claims([{ type: 'repository', name: 'app', actions: ['delete'] }]));
    await request(registry).delete(`/v2/app/blobs/${digest}`).set('Authorization', `Bearer ${deleter}`).expect(202);
    const start = await request(registry).post('/v2/app/blobs/uploads/').set('Authorization', `Bearer ${pusher}`).expect(202);
    await request(registry).delete(new URL(start.headers.location).pathname).set('Authorization', `Bearer ${pusher}`).expect(204);
  });

  it('needs registry:catalog:* for the catalog and the storage usage; an action wildcard grants every action', async () => {
    const registry = app();
    const repoOnly = await server.sign('x5c', claims([pullPush('app')]));
    const res = await request(registry).get('/v2/_catalog').set('Authorization', `Bearer ${repoOnly}`).expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge(',scope="registry:catalog:*",error="insufficient_scope"'));
    const catalog = await server.sign('x5c', claims([{ type: 'registry', name: 'catalog', actions: ['*'] }]));
    expect((await request(registry).get('/v2/_catalog').set('Authorization', `Bearer ${catalog}`).expect(200)).body).toEqual({ repositories: [] });
    const usage = await request(registry).get('/v2/_berth/usage').set('Authorization', `Bearer ${repoOnly}`).expect(401);
    expect(usage.headers['www-authenticate']).toBe(challenge(',scope="registry:catalog:*",error="insufficient_scope"'));
    expect((await request(registry).get('/v2/_berth/usage').set('Authorization', `Bearer ${catalog}`).expect(200)).body.repositories).toEqual([]);
    const everything = await server.sign('x5c', claims([{ type: 'repository', name: 'app', actions: ['*'] }]));
    await request(registry).post('/v2/app/blobs/uploads/').set('Authorization', `Bearer ${everything}`).expect(202);
  });

  it('serves a mount without pull on the source as a plain upload session, and mounts with it', async () => {
    const driver = createInMemoryDriver();
    const digest = await pushBlob(testApp(appOptions(driver)), 'source', 'shared layer');
    const registry = app({}, driver);
    const mountUrl = `/v2/dest/blobs/uploads/?mount=${digest}&from=source`;
    const destOnly = await server.sign('x5c', claims([pullPush('dest')]));
    const plain = await request(registry).post(mountUrl).set('Authorization', `Bearer ${destOnly}`).expect(202);
    expect(plain.headers.location).toMatch(/\/v2\/dest\/blobs\/uploads\/[0-9a-f-]{36}\?_state=/);
    await request(registry).head(`/v2/dest/blobs/${digest}`).set('Authorization', `Bearer ${destOnly}`).expect(404);
    const both = await server.sign('x5c', claims([pullPush('dest'), pull('source')]));
    const mounted = await request(registry).post(mountUrl).set('Authorization', `Bearer ${both}`).expect(201);
    expect(mounted.headers['docker-content-digest']).toBe(digest);
    const asked = await request(registry).post(mountUrl).expect(401);
    expect(asked.headers['www-authenticate']).toBe(challenge(',scope="repository:dest:pull,push repository:source:pull"'));
  });

  it('puts the token subject in res.locals.user for later middleware', async () => {
    const users: unknown[] = [];
    const outer = express();
    outer.use((_req, res, next) => {
      res.on('finish', () => users.push(res.locals.user));
      next();
    });
    outer.use(app());
    await request(outer).get('/v2/').set('Authorization', `Bearer ${await server.sign('x5c', claims([], { sub: 'carol' }))}`).expect(200);
    await request(outer).get('/v2/').expect(401);
    expect(users).toEqual(['carol', undefined]);
  });

  it('runs the docker token flow: challenge, GET <realm>?service&scope with Basic credentials, retry with the token', async () => {
    const registry = app();
    async function withToken(build: () => request.Test): Promise<request.Response> {
      const first = await build();
      if (first.status !== 401) return first;
      const params = Object.fromEntries([...String(first.headers['www-authenticate']).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      const url = new URL(params.realm!);
      url.searchParams.set('service', params.service!);
      if (params.scope) url.searchParams.set('scope', params.scope);
      const got = await fetch(url, { headers: { Authorization: `Basic ${Buffer.from('alice:alice-secret').toString('base64')}` } });
      const { token } = (await got.json()) as { token: string };
      return build().set('Authorization', `Bearer ${token}`);
    }
    const content = Buffer.from('pushed through the token flow');
    const started = await withToken(() => request(registry).post('/v2/team/app/blobs/uploads/'));
    expect(started.status).toBe(202);
    const put = new URL(started.headers.location);
    put.searchParams.set('digest', sha256(content));
    expect((await withToken(() => request(registry).put(put.pathname + put.search).send(content))).status).toBe(201);
    expect((await withToken(() => request(registry).get(`/v2/team/app/blobs/${sha256(content)}`))).status).toBe(200);
  });

  it('names the registry host as realm with autoredirect (https unless X-Forwarded-Proto says)', async () => {
    const registry = app({ autoRedirect: true, autoRedirectPath: '/auth/token/' });
    const res = await request(registry).get('/v2/').set('Host', 'registry.example:5000').expect(401);
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="https://registry.example:5000/auth/token/",service="${SERVICE}"`);
    const proxied = await request(registry).get('/v2/').set('Host', 'registry.example').set('X-Forwarded-Proto', 'http').expect(401);
    expect(proxied.headers['www-authenticate']).toMatch(/^Bearer realm="http:\/\/registry\.example\/auth\/token\/"/);
  });

  it('with anonymouspull serves pulls without a token (or with one lacking pull) and challenges everything else', async () => {
    const driver = createInMemoryDriver();
    const digest = await pushBlob(testApp(appOptions(driver)), 'public', 'open content');
    const registry = app({ anonymousPull: true }, driver);
    await request(registry).get(`/v2/public/blobs/${digest}`).expect(200);
    await request(registry).get('/v2/_catalog').expect(200);
    const other = await server.sign('x5c', claims([pull('elsewhere')]));
    await request(registry).get(`/v2/public/blobs/${digest}`).set('Authorization', `Bearer ${other}`).expect(200);
    expect((await request(registry).get('/v2/').expect(401)).headers['www-authenticate']).toBe(challenge());
    const push = await request(registry).post('/v2/public/blobs/uploads/').expect(401);
    expect(push.headers['www-authenticate']).toBe(challenge(',scope="repository:public:pull,push"'));
    await request(registry).delete(`/v2/public/blobs/${digest}`).set('Authorization', `Bearer ${other}`).expect(401);
    await request(registry).get(`/v2/public/blobs/${digest}`).set('Authorization', 'Bearer forged').expect(401);
  });

  it('refuses to start without usable keys, naming the key to fix', () => {
    const setupError = (o: Partial<TokenOptions>): AuthSetupError => {
      try {
        createAuthenticator(options(o));
      } catch (error) {
        return error as AuthSetupError;
      }
      throw new Error('createAuthenticator did not throw');
    };
    expect(setupError({ rootCertBundle: '/nonexistent/bundle.pem' })).toMatchObject({ name: 'AuthSetupError', key: 'auth.token.rootcertbundle' });
    expect(setupError({ jwks: fixture.bundle, rootCertBundle: undefined })).toMatchObject({ key: 'auth.token.jwks' });
    expect(setupError({ rootCertBundle: fixture.jwks, jwks: undefined }).message).toMatch(/at least one signing key/);
    expect(setupError({ signingAlgorithms: ['none'] })).toMatchObject({ key: 'auth.token.signingalgorithms' });
  });
});
