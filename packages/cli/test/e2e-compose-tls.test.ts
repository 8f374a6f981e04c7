import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, symlink } from 'node:fs/promises';
import { request } from 'node:https';
import { delimiter, join } from 'node:path';
import bcrypt from 'bcryptjs';
import { IMAGE_CONFIG, readCompose, serviceEnvironment, serviceMounts } from '../../config/test/compose-support';
import { REPO_ROOT, startBerth, type RunningBerth } from './helpers/berth';
import { expectPulledLayout } from './helpers/compare';
import { buildOciLayout, imageDigests, type LayoutFixture } from './helpers/oci-layout';
import { cleanupAll, makeTempDir, run } from './helpers/processes';
import { SKOPEO } from './helpers/skopeo';

/**
 * docker-compose.tls.yml as the container would run it, without a Docker engine: the files come from
 * scripts/tls-htpasswd-setup.sh, the berth service's environment is applied as written with the
 * container paths of its bind mounts mapped to the temp dir, over the image's config.yml. Then
 * skopeo pushes and pulls over verified TLS with the htpasswd user, and the image's HEALTHCHECK
 * passes with the service's BERTH_HEALTHCHECK_URL and NODE_EXTRA_CA_CERTS.
 */

const OPENSSL = '/usr/bin/openssl';
const missing = [OPENSSL, SKOPEO].filter((tool) => !existsSync(tool));
if (missing.length > 0 && process.env.CI) throw new Error(`the TLS compose check cannot run on CI: ${missing.join(', ')} missing`);
if (missing.length > 0) console.warn(`SKIPPED docker-compose.tls.yml end to end: ${missing.join(', ')} not installed`);
const describeTls = missing.length > 0 ? describe.skip : describe;

const SIZES = { singleLayers: [512 * 1024, 1024 * 1024], platformLayer: 128 * 1024, baseLayer: 64 * 1024 };
const USER = 'alice';
const PASSWORD = 'compose-tls-e2e-password';

interface Setup {
  readonly dir: string;
  /** The berth service's environment with /certs and /auth mapped into `dir`. */
  readonly env: Record<string, string>;
  /** A directory holding only ca.crt, as /etc/docker/certs.d/<host:port>/ (skopeo's --cert-dir). */
  readonly certDir: string;
}

/** Runs the setup script into a temp dir and maps the service's bind mounts onto it. */
async function setUp(): Promise<Setup> {
  const dir = await makeTempDir('compose-tls');
  await run(join(REPO_ROOT, 'scripts/tls-htpasswd-setup.sh'), ['-o', dir, '-u', USER, 'registry.test'], {
    env: { ...process.env, BERTH_PASSWORD: PASSWORD },
  });
  const service = readCompose('docker-compose.tls.yml').services.berth ?? {};
  const env = serviceEnvironment(service);
  for (const mount of serviceMounts(service)) {
    if (!mount.source.startsWith('./')) continue;
    const hostPath = join(dir, mount.source.slice(2));
    for (const [key, value] of Object.entries(env)) {
      if (value.startsWith(`${mount.target}/`)) env[key] = hostPath + value.slice(mount.target.length);
    }
  }
  const certDir = join(dir, 'certs.d');
  await mkdir(certDir);
  await copyFile(join(dir, 'certs/ca.crt'), join(certDir, 'ca.crt'));
  return { dir, env, certDir };
}

/** The image's config.yml with its data directory (the berth-data volume) in `dir`. */
async function imageConfig(dir: string): Promise<string> {
  return (await readFile(IMAGE_CONFIG, 'utf8')).replaceAll('/var/lib/registry', join(dir, 'data'));
}

/** GET /v2/ on localhost over TLS, trusting only `ca`; status and WWW-Authenticate. */
async function getV2(port: string, ca: Buffer, auth?: string): Promise<{ status: number; challenge?: string }> {
  return new Promise((resolve, reject) => {
    request({ host: 'localhost', port: Number(port), path: '/v2/', ca, auth, agent: false }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] });
    })
      .on('error', reject)
      .end();
  });
}

/** A PATH holding only the commands the setup script needs, without htpasswd (its Node fallback). */
async function pathWithoutHtpasswd(): Promise<string> {
  const bin = await makeTempDir('bin');
  const tools = ['bash', 'env', 'openssl', 'mktemp', 'mkdir', 'rm', 'chmod', 'chown', 'id', 'tr', 'sed', 'cat', 'dirname', 'printf'];
  const dirs = (process.env.PATH ?? '').split(delimiter);
  for (const tool of tools) {
    const found = dirs.map((d) => join(d, tool)).find((p) => existsSync(p));
    if (found) await symlink(found, join(bin, tool));
  }
  await symlink(process.execPath, join(bin, 'node'));
  return bin;
}

describeTls('docker-compose.tls.yml with the files of scripts/tls-htpasswd-setup.sh', () => {
  let setup: Setup;
  let berth: RunningBerth;
  let port: string;
  let fixture: LayoutFixture;

  beforeAll(async () => {
    setup = await setUp();
    fixture = await buildOciLayout(await makeTempDir('layout'), SIZES);
    berth = await startBerth(await imageConfig(setup.dir), { env: { ...setup.env, REGISTRY_HTTP_ADDR: '127.0.0.1:0' } });
    port = berth.hostPort.split(':')[1] as string;
  });

  afterAll(async () => {
    if (berth) expect(await berth.stop()).toEqual({ code: 0, signal: null });
    await cleanupAll();
  });

  it('serves TLS with a certificate for localhost that the CA verifies, and challenges for Basic credentials', async () => {
    const ca = await readFile(join(setup.certDir, 'ca.crt'));
    expect(await getV2(port, ca)).toEqual({ status: 401, challenge: `Basic realm="${setup.env.REGISTRY_AUTH_HTPASSWD_REALM}"` });
    expect((await getV2(port, ca, `${USER}:${PASSWORD}`)).status).toBe(200);
    expect((await getV2(port, ca, `${USER}:wrong`)).status).toBe(401);
    await expect(fetch(`http://localhost:${port}/v2/`)).rejects.toThrow();
  });

  it('lets skopeo push and pull with the htpasswd user, verifying the certificate with ca.crt', async () => {
    const tls = (side: 'src' | 'dest'): string[] => [`--${side}-cert-dir`, setup.certDir, `--${side}-creds`, `${USER}:${PASSWORD}`];
    const image = `docker://localhost:${port}/compose/tls:v1`;
    await expect(run(SKOPEO, ['--insecure-policy', 'copy', '--quiet', '--dest-cert-dir', setup.certDir, `oci:${fixture.dir}:single`, image])).rejects.toThrow(
      /unauthorized|authentication required/i,
    );
    await run(SKOPEO, ['--insecure-policy', 'copy', '--quiet', ...tls('dest'), `oci:${fixture.dir}:single`, image]);
    const out = await makeTempDir('pull');
    await run(SKOPEO, ['--insecure-policy', 'copy', '--quiet', ...tls('src'), image, `oci:${out}:v1`]);
    await expectPulledLayout(out, fixture.dir, imageDigests(fixture.single), 'v1', fixture.single.manifest.digest);
  });

  it('keeps the generated keys and hashes out of git (each directory ignores itself)', async () => {
    for (const dir of ['certs', 'auth']) expect(await readFile(join(setup.dir, dir, '.gitignore'), 'utf8')).toBe('*\n');
  });

  it('writes a bcrypt htpasswd entry with Node when htpasswd is not installed, replacing the same user on a rerun', async () => {
    const dir = await makeTempDir('setup-node');
    const env = { PATH: await pathWithoutHtpasswd(), BERTH_PASSWORD: 'first' };
    const script = join(REPO_ROOT, 'scripts/tls-htpasswd-setup.sh');
    await run(script, ['-o', dir, '-u', 'bob'], { env });
    await run(script, ['-o', dir, '-u', 'bob'], { env: { ...env, BERTH_PASSWORD: 'second' } });
    await run(script, ['-o', dir, '-u', 'carol'], { env });
    const lines = (await readFile(join(dir, 'auth/htpasswd'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual(['bob', 'carol']);
    const hash = (user: string): string => lines.find((l) => l.startsWith(`${user}:`))!.slice(user.length + 1);
    expect(hash('bob')).toMatch(/^\$2[aby]\$05\$/);
    expect(await bcrypt.compare('second', hash('bob'))).toBe(true);
    expect(await bcrypt.compare('first', hash('carol'))).toBe(true);
  });

  it("passes the image's HEALTHCHECK with the service's BERTH_HEALTHCHECK_URL and NODE_EXTRA_CA_CERTS, and fails it without the CA", async () => {
    const healthcheck = join(REPO_ROOT, 'scripts/image/healthcheck.js');
    const url = (setup.env.BERTH_HEALTHCHECK_URL as string).replace(':5000/', `:${port}/`);
    const env = { PATH: process.env.PATH, BERTH_HEALTHCHECK_URL: url };
    await run(process.execPath, [healthcheck], { env: { ...env, NODE_EXTRA_CA_CERTS: setup.env.NODE_EXTRA_CA_CERTS } });
    await expect(run(process.execPath, [healthcheck], { env })).rejects.toThrow(/failed/);
  });
});
