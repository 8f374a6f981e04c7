import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { libtrustKeyId } from '../../api/src/auth/trust';
import { ISSUER, OPENSSL, SERVICE, makeTokenFixture, startTokenServer, type TokenServer } from '../../api/test/auth-support/token-fixture';
import { runBerth, startBerth, testConfig, writeConfig, type RunningBerth } from './helpers/berth';
import { expectPulledLayout } from './helpers/compare';
import { buildOciLayout, imageDigests, indexDigests, type LayoutFixture } from './helpers/oci-layout';
import { cleanupAll, makeTempDir } from './helpers/processes';
import { skopeoCopy } from './helpers/skopeo';

/**
 * `berth serve` with authentication, driven by skopeo: htpasswd (`--dest-creds`/`--src-creds`),
 * anonymous pull with authenticated push, and the token flow against a real token server.
 */

const SIZES = { singleLayers: [1024 * 1024, 2 * 1024 * 1024], platformLayer: 256 * 1024, baseLayer: 128 * 1024 };

/** An htpasswd line as `htpasswd -B` writes it. */
const htpasswdLine = (user: string, password: string): string => `${user}:${bcrypt.hashSync(password, 5).replace(/^\$2[ab]\$/, '$2y$')}\n`;

let fixture: LayoutFixture;
beforeAll(async () => {
  fixture = await buildOciLayout(await makeTempDir('layout'), SIZES);
});
afterAll(cleanupAll);

async function expectPull(reference: string, creds?: string): Promise<void> {
  const out = await makeTempDir('pull');
  await skopeoCopy(reference, `oci:${out}:pulled`, { src: creds });
  await expectPulledLayout(out, fixture.dir, imageDigests(fixture.single), 'pulled', fixture.single.manifest.digest);
}

describe('berth config check with auth.htpasswd', () => {
  it('warns about lines without a bcrypt hash, and fails with one line naming the key when the file is missing', async () => {
    const dir = await makeTempDir('htpasswd');
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `${htpasswdLine('alice', 'pw')}md5user:$apr1$abcdefgh$0123456789abcdefghijkl\n`);
    const ok = await runBerth(['config', 'check', await writeConfig({ ...testConfig({ inmemory: {} }), auth: { htpasswd: { realm: 'r', path: htpasswd } } })]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe(`warning: ${htpasswd}:2: user "md5user" does not have a bcrypt hash (only bcrypt is supported, htpasswd -B); ignored\n`);
    const missing = await runBerth(['config', 'check', await writeConfig({ ...testConfig({ inmemory: {} }), auth: { htpasswd: { realm: 'r', path: join(dir, 'nope') } } })]);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^[^\n]*auth\.htpasswd\.path: cannot read the htpasswd file [^\n]*no such file[^\n]*\n$/) });
  });
});

describe('berth serve with auth.htpasswd, with skopeo', () => {
  let berth: RunningBerth;
  let htpasswd: string;
  const ref = (path: string): string => `docker://${berth.hostPort}/${path}`;

  beforeAll(async () => {
    htpasswd = join(await makeTempDir('htpasswd'), 'htpasswd');
    await writeFile(htpasswd, htpasswdLine('alice', 'alice-pw'));
    berth = await startBerth({ ...testConfig({ inmemory: {} }), auth: { htpasswd: { realm: 'berth e2e', path: htpasswd } } });
  });
  afterAll(async () => {
    if (berth) expect(await berth.stop()).toEqual({ code: 0, signal: null });
  });

  it('refuses a push without credentials or with a wrong password', async () => {
    await expect(skopeoCopy(`oci:${fixture.dir}:single`, ref('e2e/private:v1'))).rejects.toThrow(/unauthorized|authentication required/i);
    await expect(skopeoCopy(`oci:${fixture.dir}:single`, ref('e2e/private:v1'), { dest: 'alice:wrong' })).rejects.toThrow(/unauthorized|authentication required/i);
  });

  it('pushes with --dest-creds and pulls back byte-identical with --src-creds; refuses the pull without them', async () => {
    await skopeoCopy(`oci:${fixture.dir}:single`, ref('e2e/private:v1'), { dest: 'alice:alice-pw' });
    await skopeoCopy(`oci:${fixture.dir}:multi`, ref('e2e/private:multi'), { dest: 'alice:alice-pw' });
    await expectPull(ref('e2e/private:v1'), 'alice:alice-pw');
    const multi = await makeTempDir('pull');
    await skopeoCopy(ref('e2e/private:multi'), `oci:${multi}:m`, { src: 'alice:alice-pw' });
    await expectPulledLayout(multi, fixture.dir, indexDigests(fixture.multi), 'm', fixture.multi.index.digest);
    await expect(expectPull(ref('e2e/private:v1'))).rejects.toThrow(/unauthorized|authentication required/i);
  });

  it('lets a user added to the file while serving push at once', async () => {
    await writeFile(htpasswd, htpasswdLine('alice', 'alice-pw') + htpasswdLine('bob', 'bob-pw'));
    await skopeoCopy(ref('e2e/private:v1'), ref('e2e/bobs:v1'), { src: 'bob:bob-pw', dest: 'bob:bob-pw' });
    await expectPull(ref('e2e/bobs:v1'), 'alice:alice-pw');
  });
});

describe('berth serve with anonymous pull and authenticated push (REGISTRY_AUTH_HTPASSWD_ANONYMOUSPULL), with skopeo', () => {
  let berth: RunningBerth;
  const ref = (path: string): string => `docker://${berth.hostPort}/${path}`;

  beforeAll(async () => {
    const htpasswd = join(await makeTempDir('htpasswd'), 'htpasswd');
    await writeFile(htpasswd, htpasswdLine('ci', 'ci-pw'));
    berth = await startBerth(
      { ...testConfig({ inmemory: {} }), auth: { htpasswd: { realm: 'berth e2e', path: htpasswd } } },
      { env: { REGISTRY_AUTH_HTPASSWD_ANONYMOUSPULL: 'true' } },
    );
  });
  afterAll(async () => {
    if (berth) expect(await berth.stop()).toEqual({ code: 0, signal: null });
  });

  it('pushes only with credentials, and pulls without any', async () => {
    await expect(skopeoCopy(`oci:${fixture.dir}:single`, ref('e2e/public:v1'))).rejects.toThrow(/unauthorized|authentication required/i);
    await skopeoCopy(`oci:${fixture.dir}:single`, ref('e2e/public:v1'), { dest: 'ci:ci-pw' });
    await expectPull(ref('e2e/public:v1'));
    await expectPull(ref('e2e/public:v1'), 'ci:ci-pw');
    const catalog = await fetch(`${berth.url}/v2/_catalog`);
    expect(await catalog.json()).toEqual({ repositories: ['e2e/public'] });
    expect((await fetch(`${berth.url}/v2/`)).status).toBe(401);
  });
});

const describeToken = existsSync(OPENSSL) ? describe : describe.skip;

describeToken('berth serve with auth.token and a token server, with skopeo', () => {
  let berth: RunningBerth;
  let tokens: TokenServer;
  const ref = (path: string): string => `docker://${berth.hostPort}/${path}`;

  beforeAll(async () => {
    const pki = await makeTokenFixture((cert) => libtrustKeyId(cert.publicKey));
    tokens = await startTokenServer(pki, {
      users: {
        writer: { password: 'writer-pw', grants: [{ type: 'repository', name: '*', actions: ['pull', 'push'] }] },
        reader: { password: 'reader-pw', grants: [{ type: 'repository', name: '*', actions: ['pull'] }] },
      },
    });
    berth = await startBerth({
      ...testConfig({ inmemory: {} }),
      auth: { token: { realm: tokens.realm, service: SERVICE, issuer: ISSUER, rootcertbundle: pki.bundle } },
    });
  });
  afterAll(async () => {
    if (berth) expect(await berth.stop()).toEqual({ code: 0, signal: null });
    await tokens?.stop();
  });

  it('pushes and pulls with tokens from the realm, and refuses a push to a user granted pull only', async () => {
    await skopeoCopy(`oci:${fixture.dir}:single`, ref('e2e/tokens:v1'), { dest: 'writer:writer-pw' });
    await skopeoCopy(`oci:${fixture.dir}:multi`, ref('e2e/tokens:multi'), { dest: 'writer:writer-pw' });
    await expectPull(ref('e2e/tokens:v1'), 'reader:reader-pw');
    await expect(skopeoCopy(`oci:${fixture.dir}:single`, ref('e2e/tokens:v2'), { dest: 'reader:reader-pw' })).rejects.toThrow(
      /unauthorized|authentication required|denied/i,
    );
    await expect(expectPull(ref('e2e/tokens:v1'))).rejects.toThrow(/unauthorized|authentication required/i);
  });
});
