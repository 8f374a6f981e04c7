import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { createAuthenticator } from '@berth/api';
import { libtrustKeyId } from '../src/auth/trust';
import { cleanupAll, freePort, spawnTracked, stopProcess, type Spawned } from '../../cli/test/helpers/processes';
import { ISSUER, OPENSSL, SERVICE, claims, makeTokenFixture, startTokenServer, type Grant, type SignerName, type TokenFixture, type TokenServer } from './auth-support/token-fixture';
import { appOptions, testApp, listen } from './support/harness';

/**
 * Berth's token authentication next to distribution 2.8.2's (Debian's docker-registry), given the
 * same tokens from the same token server: the same requests are let through or refused, with the
 * same WWW-Authenticate challenge and the same 401 body.
 */

const DOCKER_REGISTRY = '/usr/bin/docker-registry';
const skipReason = !existsSync(DOCKER_REGISTRY) ? `${DOCKER_REGISTRY} is not installed` : !existsSync(OPENSSL) ? `${OPENSSL} is not installed` : undefined;
const describeCompat = skipReason ? describe.skip : describe;
if (skipReason) console.warn(`SKIPPED token authentication compared with distribution: ${skipReason}`);

const pull = (name: string): Grant => ({ type: 'repository', name, actions: ['pull'] });

/** Go ranges over maps in random order: compare the actions of each scope as a sorted set. */
function normalizedChallenge(header: string | null): string | null {
  return header?.replace(/scope="([^"]*)"/, (_m, scope: string) => `scope="${scope.split(' ').map((s) => s.replace(/:([^:]*)$/, (_a, actions: string) => `:${actions.split(',').sort().join(',')}`)).sort().join(' ')}"`) ?? null;
}

interface Answer {
  status: number;
  challenge: string | null;
  errors: unknown;
}

async function ask(base: string, method: string, path: string, token?: string): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { method, headers: token ? { Authorization: `Bearer ${token}` } : {}, redirect: 'manual' });
  const text = await res.text();
  const body = text && res.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as { errors?: Array<Record<string, unknown>> }) : {};
  const errors = (body.errors ?? []).map((e) => ({ code: e.code, message: e.message, detail: Array.isArray(e.detail) ? e.detail : undefined }));
  return { status: res.status, challenge: normalizedChallenge(res.headers.get('www-authenticate')), errors };
}

describeCompat('token authentication compared with distribution 2.8.2', () => {
  let fixture: TokenFixture;
  let tokens: TokenServer;
  let distribution: Spawned;
  let distributionUrl: string;
  let berth: { server: Server; port: number; close(): Promise<void> };
  let berthUrl: string;

  beforeAll(async () => {
    fixture = await makeTokenFixture((cert) => libtrustKeyId(cert.publicKey));
    tokens = await startTokenServer(fixture);
    const port = await freePort();
    const config = join(fixture.dir, 'distribution.yml');
    await writeFile(
      config,
      [
        'version: 0.1',
        'log: {level: error, accesslog: {disabled: true}}',
        'storage: {inmemory: {}}',
        `http: {addr: "127.0.0.1:${port}", secret: compat}`,
        'auth:',
        '  token:',
        `    realm: "${tokens.realm}"`,
        `    service: ${SERVICE}`,
        `    issuer: ${ISSUER}`,
        `    rootcertbundle: ${fixture.bundle}`,
        '',
      ].join('\n'),
    );
    distribution = spawnTracked(DOCKER_REGISTRY, ['serve', config], { env: { PATH: process.env.PATH ?? '' } });
    distributionUrl = `http://127.0.0.1:${port}`;
    for (const deadline = Date.now() + 15_000; ; ) {
      if ((await fetch(`${distributionUrl}/v2/`).then((r) => r.status, () => 0)) === 401) break;
      if (Date.now() > deadline || distribution.child.exitCode !== null) throw new Error(`docker-registry did not start:\n${distribution.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const auth = createAuthenticator({ type: 'token', realm: tokens.realm, service: SERVICE, issuer: ISSUER, rootCertBundle: fixture.bundle });
    berth = await listen(testApp(appOptions(createInMemoryDriver(), { auth })));
    berthUrl = `http://127.0.0.1:${berth.port}`;
  });

  afterAll(async () => {
    await berth?.close();
    if (distribution) await stopProcess(distribution);
    await tokens?.stop();
    await cleanupAll();
  });

  async function both(method: string, path: string, token?: string): Promise<[Answer, Answer]> {
    return [await ask(berthUrl, method, path, token), await ask(distributionUrl, method, path, token)];
  }

  const now = (): number => Math.floor(Date.now() / 1000);
  const cases: Array<[string, string, string, (() => Promise<string>) | undefined]> = [
    ['no token, the base route', 'GET', '/v2/', undefined],
    ['no token, a pull', 'GET', '/v2/team/app/manifests/v1', undefined],
    ['no token, a push', 'POST', '/v2/team/app/blobs/uploads/', undefined],
    ['no token, a delete', 'DELETE', '/v2/team/app/manifests/sha256:0000000000000000000000000000000000000000000000000000000000000000', undefined],
    ['no token, the catalog', 'GET', '/v2/_catalog', undefined],
    ['an x5c token granting pull', 'GET', '/v2/team/app/tags/list', () => tokens.sign('x5c', claims([pull('team/app')]))],
    ['a token naming a bundle key by libtrust key ID', 'GET', '/v2/team/app/tags/list', () => tokens.sign('root-libtrust', claims([pull('team/app')]))],
    ['a pull token used to push', 'POST', '/v2/team/app/blobs/uploads/', () => tokens.sign('x5c', claims([pull('team/app')]))],
    ['a token for another repository', 'GET', '/v2/team/app/manifests/v1', () => tokens.sign('x5c', claims([pull('team/other')]))],
    ['an x5c chain to another root', 'GET', '/v2/team/app/manifests/v1', () => tokens.sign('x5c-untrusted', claims([pull('team/app')]))],
    ['a token for another audience', 'GET', '/v2/team/app/manifests/v1', () => tokens.sign('x5c', claims([pull('team/app')], { aud: 'elsewhere' }))],
    ['a token from another issuer', 'GET', '/v2/team/app/manifests/v1', () => tokens.sign('x5c', claims([pull('team/app')], { iss: 'elsewhere' }))],
    ['a token expired 90 s ago', 'GET', '/v2/team/app/manifests/v1', () => tokens.sign('x5c', claims([pull('team/app')], { exp: now() - 90 }))],
    ['a token expired 30 s ago (within the leeway)', 'GET', '/v2/team/app/manifests/v1', () => tokens.sign('x5c', claims([pull('team/app')], { exp: now() - 30 }))],
    ['a catalog token', 'GET', '/v2/_catalog', () => tokens.sign('x5c', claims([{ type: 'registry', name: 'catalog', actions: ['*'] }]))],
  ];

  it.each(cases)('%s: same status, challenge and error', async (_name, method, path, token) => {
    const [ours, theirs] = await both(method, path, token && (await token()));
    if (path === '/v2/' && theirs.errors) {
      // distribution writes "detail": null for no access records; Berth leaves detail out.
      expect(ours.errors).toEqual((theirs.errors as Answer[]).map((e) => ({ ...e, detail: undefined })));
      expect({ ...ours, errors: undefined }).toEqual({ ...theirs, errors: undefined });
    } else if (theirs.status === 401) {
      expect(ours).toEqual(theirs);
    } else {
      // Let through: the answer is the API's (Berth's messages name the repository or reference).
      const codes = (a: Answer) => ({ status: a.status, challenge: a.challenge, codes: (a.errors as Array<{ code: string }>).map((e) => e.code) });
      expect(codes(ours)).toEqual(codes(theirs));
    }
  });

  it('differs on purpose for a mount without pull on the source: Berth opens a plain upload session, distribution refuses', async () => {
    const signer: SignerName = 'x5c';
    const token = await tokens.sign(signer, claims([{ type: 'repository', name: 'dest', actions: ['pull', 'push'] }]));
    const path = '/v2/dest/blobs/uploads/?mount=sha256:0000000000000000000000000000000000000000000000000000000000000000&from=source';
    const [ours, theirs] = await both('POST', path, token);
    expect(ours.status).toBe(202);
    expect(theirs.status).toBe(401);
    expect(theirs.challenge).toBe(normalizedChallenge(`Bearer realm="${tokens.realm}",service="${SERVICE}",scope="repository:dest:pull,push repository:source:pull",error="insufficient_scope"`));
  });
});
