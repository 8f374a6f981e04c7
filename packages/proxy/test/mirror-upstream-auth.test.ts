import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { createAuthenticator } from '@berth/api';
import { cleanupAll, makeTempDir, spawnTracked, stopProcess, type Spawned } from '../../cli/test/helpers/processes';
import { call, makeImage, pushImage, type TestImage } from './support/images';
import { startMirror, startUpstream, type RunningMirror, type RunningServer } from './support/servers';
import { blobState } from './support/storage';

const ISSUER = 'proxy-test-issuer';
const SERVICE = 'proxy-test-upstream';

interface TokenServer {
  readonly url: string;
  readonly process: Spawned;
  /** The token requests so far (who asked, for which scopes). */
  requests(): Promise<Array<{ user: string; scopes: string[] }>>;
}

/** Runs support/token-server.mjs (jose, Ed25519) and the JWKS Berth needs to trust its tokens. */
async function startTokenServer(expiresIn: number): Promise<{ server: TokenServer; jwks: string }> {
  const dir = await makeTempDir('proxy-token');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwks = join(dir, 'jwks.json');
  await writeFile(jwks, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'proxy-test-key', use: 'sig' }] }));
  const config = join(dir, 'token-server.json');
  await writeFile(
    config,
    JSON.stringify({
      issuer: ISSUER,
      service: SERVICE,
      kid: 'proxy-test-key',
      privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }),
      expiresIn,
      users: { mirror: { password: 'mirror-secret', actions: ['pull'] }, pusher: { password: 'pusher-secret', actions: ['pull', 'push'] } },
      anonymous: ['public/app'],
    }),
  );
  const spawned = spawnTracked(process.execPath, [join(__dirname, 'support/token-server.mjs'), config], { env: { PATH: process.env.PATH } });
  const port = (await spawned.waitForOutput(/token server listening on (\d+)/, 10_000))[1];
  const url = `http://127.0.0.1:${port}`;
  return {
    jwks,
    server: {
      url,
      process: spawned,
      requests: async () => JSON.parse((await call('GET', `${url}/requests`)).body.toString()),
    },
  };
}

/** A push token for `name` from the token server. */
async function pushHeaders(tokens: TokenServer, name: string): Promise<Record<string, string>> {
  const basic = Buffer.from('pusher:pusher-secret').toString('base64');
  const response = await call('GET', `${tokens.url}/token?service=${SERVICE}&scope=repository:${name}:pull,push`, { headers: { authorization: `Basic ${basic}` } });
  return { authorization: `Bearer ${JSON.parse(response.body.toString()).token}` };
}

async function pullAll(mirror: RunningMirror, name: string, image: TestImage): Promise<void> {
  const manifest = await call('GET', `${mirror.url}/v2/${name}/manifests/v1`);
  expect({ status: manifest.status, same: manifest.body.equals(image.manifest) }).toEqual({ status: 200, same: true });
  for (const [digest, bytes] of image.blobs) expect((await call('GET', `${mirror.url}/v2/${name}/blobs/${digest}`)).body.equals(bytes)).toBe(true);
}

describe('a pull-through cache of an upstream with Bearer token authentication', () => {
  let tokens: TokenServer;
  let upstream: RunningServer;
  const mirrors: RunningMirror[] = [];
  const privateImage = makeImage([50_000, 70_000]);
  const publicImage = makeImage([30_000]);

  async function start(expiresIn: number): Promise<void> {
    const started = await startTokenServer(expiresIn);
    tokens = started.server;
    const auth = createAuthenticator({ type: 'token', realm: `${tokens.url}/token`, service: SERVICE, issuer: ISSUER, jwks: started.jwks });
    upstream = await startUpstream({ auth });
    await pushImage(upstream.url, 'private/app', 'v1', privateImage, await pushHeaders(tokens, 'private/app'));
    await pushImage(upstream.url, 'other/app', 'v1', privateImage, await pushHeaders(tokens, 'other/app'));
    await pushImage(upstream.url, 'public/app', 'v1', publicImage, await pushHeaders(tokens, 'public/app'));
  }

  async function mirrorOf(credentials: { username?: string; password?: string } = {}): Promise<RunningMirror> {
    const mirror = await startMirror(upstream.url, credentials);
    mirrors.push(mirror);
    return mirror;
  }

  afterEach(async () => {
    for (const mirror of mirrors.splice(0)) await mirror.stop();
    await upstream?.stop();
    await cleanupAll();
  });

  it('gets one token per repository from the realm with the configured credentials, and reuses it while it is valid', async () => {
    await start(300);
    const mirror = await mirrorOf({ username: 'mirror', password: 'mirror-secret' });
    const before = (await tokens.requests()).length;
    await pullAll(mirror, 'private/app', privateImage);
    await pullAll(mirror, 'other/app', privateImage);
    await call('GET', `${mirror.url}/v2/private/app/manifests/v1`);

    expect((await tokens.requests()).slice(before)).toEqual([
      { user: 'mirror', scopes: ['repository:private/app:pull'] },
      { user: 'mirror', scopes: ['repository:other/app:pull'] },
    ]);
    // Only the very first request went out without a token.
    expect(upstream.requests.filter((r) => r.authorization === undefined && r.method !== 'POST' && r.method !== 'PUT')).toHaveLength(1);
  });

  it('asks for a new token once the one it holds expires', async () => {
    await start(1);
    const mirror = await mirrorOf({ username: 'mirror', password: 'mirror-secret' });
    const before = (await tokens.requests()).length;
    await call('GET', `${mirror.url}/v2/private/app/manifests/v1`);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await call('GET', `${mirror.url}/v2/private/app/manifests/v1`);
    expect((await tokens.requests()).slice(before).map((r) => r.scopes[0])).toEqual(['repository:private/app:pull', 'repository:private/app:pull']);
  });

  it('pulls anonymously without credentials: public repositories work, others are unknown and nothing is cached', async () => {
    await start(300);
    const mirror = await mirrorOf();
    await pullAll(mirror, 'public/app', publicImage);
    const refused = await call('GET', `${mirror.url}/v2/private/app/manifests/v1`);
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.body.toString()).errors[0].code).toBe('MANIFEST_UNKNOWN');
    const blob = await call('GET', `${mirror.url}/v2/private/app/blobs/${privateImage.layers[0]!.digest}`);
    expect(blob.status).toBe(404);
    expect(await blobState(mirror.driver, 'private/app', privateImage.layers[0]!.digest)).toEqual({ data: false, link: false });
    expect((await tokens.requests()).some((r) => r.user === '' && r.scopes[0] === 'repository:public/app:pull')).toBe(true);
  });

  it('treats refused credentials like no access: the repository is unknown through the mirror', async () => {
    await start(300);
    const mirror = await mirrorOf({ username: 'mirror', password: 'wrong' });
    expect((await call('GET', `${mirror.url}/v2/private/app/manifests/v1`)).status).toBe(404);
  });

  it('serves the cached tag when the token server is down and its token expired', async () => {
    await start(1);
    const mirror = await mirrorOf({ username: 'mirror', password: 'mirror-secret' });
    await pullAll(mirror, 'private/app', privateImage);
    await stopProcess(tokens.process);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const cached = await call('GET', `${mirror.url}/v2/private/app/manifests/v1`);
    expect(cached.status).toBe(200);
    expect(cached.body.equals(privateImage.manifest)).toBe(true);
    const uncached = await call('GET', `${mirror.url}/v2/public/app/manifests/v1`);
    expect(uncached.status).toBe(503);
  });
});

describe('a pull-through cache of an upstream with Basic authentication (htpasswd)', () => {
  let upstream: RunningServer;
  let mirror: RunningMirror | undefined;
  const image = makeImage([40_000]);

  beforeEach(async () => {
    const dir = await makeTempDir('proxy-htpasswd');
    const path = join(dir, 'htpasswd');
    await writeFile(path, `mirror:${bcrypt.hashSync('mirror-secret', 4)}\n`);
    upstream = await startUpstream({ auth: createAuthenticator({ type: 'htpasswd', realm: 'upstream', path }) });
    await pushImage(upstream.url, 'basic/app', 'v1', image, { authorization: `Basic ${Buffer.from('mirror:mirror-secret').toString('base64')}` });
  });

  afterEach(async () => {
    await mirror?.stop();
    mirror = undefined;
    await upstream.stop();
    await cleanupAll();
  });

  it('answers the Basic challenge with proxy.username/password, then sends them up front', async () => {
    mirror = await startMirror(upstream.url, { username: 'mirror', password: 'mirror-secret' });
    const before = upstream.requests.length;
    await pullAll(mirror, 'basic/app', image);
    const sent = upstream.requests.slice(before);
    expect(sent.filter((r) => r.authorization === undefined)).toHaveLength(1);
    expect(sent.slice(1).every((r) => r.authorization === `Basic ${Buffer.from('mirror:mirror-secret').toString('base64')}`)).toBe(true);
  });

  it('without credentials the upstream refuses and the mirror answers unknown', async () => {
    mirror = await startMirror(upstream.url);
    expect((await call('GET', `${mirror.url}/v2/basic/app/manifests/v1`)).status).toBe(404);
  });
});
