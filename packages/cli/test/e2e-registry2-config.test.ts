import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import type { WireEvent } from '@berth/notifications';
import { Receiver } from '../../notifications/test/support/receiver';
import { startBerth, type RunningBerth } from './helpers/berth';
import { expectPulledLayout } from './helpers/compare';
import { DOCKER_REGISTRY } from './helpers/distribution';
import { metricValue, parseExposition } from './helpers/in-process';
import { buildOciLayout, indexDigests, type LayoutFixture } from './helpers/oci-layout';
import { cleanupAll, freePort, makeTempDir, run, spawnTracked, stopProcess } from './helpers/processes';
import { SKOPEO } from './helpers/skopeo';

/**
 * Issue 4's acceptance: a config.yml written for registry:2, with TLS, htpasswd, notifications,
 * health, debug/prometheus and read-only sections, starts the built `berth serve` unchanged, and
 * each feature works with skopeo over verified TLS. The same file is first checked to start CNCF
 * distribution 2.8.2 (when installed), so it stays a registry:2 file and not a Berth dialect.
 */

const OPENSSL = '/usr/bin/openssl';
const missing = [OPENSSL, SKOPEO].filter((tool) => !existsSync(tool));
if (missing.length > 0 && process.env.CI) throw new Error(`the registry:2 config acceptance cannot run on CI: ${missing.join(', ')} missing`);
if (missing.length > 0) console.warn(`SKIPPED a registry:2 config.yml end to end: ${missing.join(', ')} not installed`);
const describeE2e = missing.length > 0 ? describe.skip : describe;

const SIZES = { singleLayers: [64 * 1024], platformLayer: 256 * 1024, baseLayer: 128 * 1024 };
const USER = 'ci-bot';
const PASSWORD = 'registry2-config-e2e';
const REPOSITORY = 'team/app';
const TAG = 'v1';
const EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v2+json';

interface Setup {
  readonly dir: string;
  /** A directory holding only ca.crt (skopeo's --cert-dir, like /etc/docker/certs.d/<host:port>/). */
  readonly certDir: string;
  readonly ca: Buffer;
  readonly configText: string;
  readonly hostPort: string;
  readonly debugUrl: string;
}

/** A throw-away CA and a server certificate for 127.0.0.1 and localhost, as domain.crt/domain.key. */
async function makeCerts(dir: string): Promise<string> {
  const certs = join(dir, 'certs');
  await mkdir(certs);
  const p = (name: string): string => join(certs, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(OPENSSL, ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=registry2 config test CA']);
  await writeFile(p('domain.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await run(OPENSSL, ['req', ...ec, '-keyout', p('domain.key'), '-out', p('domain.csr'), '-subj', '/CN=localhost']);
  await run(OPENSSL, [
    'x509', '-req', '-in', p('domain.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-out', p('domain.crt'), '-days', '2', '-extfile', p('domain.ext'),
  ]);
  const certDir = join(dir, 'certs.d');
  await mkdir(certDir);
  await copyFile(p('ca.crt'), join(certDir, 'ca.crt'));
  return certDir;
}

/** The config.yml exactly as a registry:2 user writes it: distribution's keys, Go durations, YAML lists. */
function registry2Config(dir: string, port: number, debugPort: number, receiverUrl: string): string {
  return `version: 0.1
log:
  level: info
  formatter: text
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: ${dir}/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: true
      age: 168h
      interval: 24h
      dryrun: false
    readonly:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: a-shared-secret
  headers:
    X-Content-Type-Options: [nosniff]
  tls:
    certificate: ${dir}/certs/domain.crt
    key: ${dir}/certs/domain.key
  debug:
    addr: 127.0.0.1:${debugPort}
    prometheus:
      enabled: true
      path: /metrics
auth:
  htpasswd:
    realm: basic-realm
    path: ${dir}/auth/htpasswd
notifications:
  events:
    includereferences: true
  endpoints:
    - name: ci
      disabled: false
      url: ${receiverUrl}
      headers:
        Authorization: [Bearer webhook-token]
      timeout: 1s
      threshold: 5
      backoff: 1s
health:
  storagedriver:
    enabled: true
    interval: 1s
    threshold: 3
`;
}

async function setUp(receiverUrl: string): Promise<Setup> {
  const dir = await makeTempDir('registry2-config');
  const certDir = await makeCerts(dir);
  await mkdir(join(dir, 'auth'));
  // As `htpasswd -Bbn` writes it.
  await writeFile(join(dir, 'auth/htpasswd'), `${USER}:${bcrypt.hashSync(PASSWORD, 5).replace(/^\$2[ab]\$/, '$2y$')}\n`);
  const [port, debugPort] = [await freePort(), await freePort()];
  return {
    dir,
    certDir,
    ca: await readFile(join(certDir, 'ca.crt')),
    configText: registry2Config(dir, port, debugPort, receiverUrl),
    hostPort: `127.0.0.1:${port}`,
    debugUrl: `http://127.0.0.1:${debugPort}`,
  };
}

/** skopeo verifying the server certificate against ca.crt in `certDir` (never --tls-verify=false). */
function skopeo(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return run(SKOPEO, ['--insecure-policy', ...args], { timeoutMs: 60_000 });
}

/** GET over TLS trusting only `ca`: status and headers. */
function httpsGet(hostPort: string, path: string, ca: Buffer, auth?: string): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  const [host, port] = hostPort.split(':');
  const options: RequestOptions = { host, port: Number(port), path, ca, auth, agent: false };
  return new Promise((resolve, reject) => {
    request(options, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    })
      .on('error', reject)
      .end();
  });
}

/** Starts `docker-registry serve` on the file, waits for it to answer over TLS, and stops it. */
async function expectDistributionStarts(configPath: string, setup: Setup): Promise<void> {
  const spawned = spawnTracked(DOCKER_REGISTRY, ['serve', configPath], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (spawned.child.exitCode !== null) throw new Error(`docker-registry refused the file:\n${spawned.output()}`);
      const status = await httpsGet(setup.hostPort, '/v2/', setup.ca).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 401) break;
      if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${setup.hostPort}:\n${spawned.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await stopProcess(spawned);
  }
}

describeE2e('a registry:2 config.yml with TLS, htpasswd, notifications, health, debug/prometheus and read-only', () => {
  let receiver: Receiver;
  let setup: Setup;
  let fixture: LayoutFixture;
  let berth: RunningBerth | undefined;
  const image = (): string => `docker://${setup.hostPort}/${REPOSITORY}:${TAG}`;
  const tls = (side: 'src' | 'dest', creds = true): string[] => [
    `--${side}-cert-dir`,
    setup.certDir,
    ...(creds ? [`--${side}-creds`, `${USER}:${PASSWORD}`] : []),
  ];

  /** Pulls the tag with --all over TLS with the htpasswd user and compares it with the layout byte for byte. */
  async function expectPullIdentical(): Promise<void> {
    const out = await makeTempDir('pull');
    await skopeo(['copy', '--all', '--quiet', ...tls('src'), image(), `oci:${out}:${TAG}`]);
    await expectPulledLayout(out, fixture.dir, indexDigests(fixture.multi), TAG, fixture.multi.index.digest);
  }

  /** Restarted in read-only mode: pulls byte-identical, refuses push and delete with 405 UNSUPPORTED. */
  async function expectReadOnly(readOnly: RunningBerth): Promise<void> {
    await expect(skopeo(['copy', '--all', '--quiet', ...tls('dest'), `oci:${fixture.dir}:single`, `docker://${setup.hostPort}/${REPOSITORY}:v2`])).rejects.toThrow(
      /unsupported: the registry is in read-only mode/,
    );
    await expect(skopeo(['delete', '--cert-dir', setup.certDir, '--creds', `${USER}:${PASSWORD}`, image()])).rejects.toThrow(
      /UNSUPPORTED.*read-only mode.*\(405 Method Not Allowed\)/,
    );
    await expectPullIdentical();
    expect(readOnly.process.output()).toMatch(/storage\.maintenance\.readonly is enabled: upload purging is disabled/);
  }

  beforeAll(async () => {
    receiver = await Receiver.start();
    setup = await setUp(receiver.url);
    fixture = await buildOciLayout(await makeTempDir('layout'), SIZES);
  });

  afterAll(async () => {
    if (berth) await berth.stop();
    await receiver?.stop();
    await cleanupAll();
  });

  const itWithDistribution = existsSync(DOCKER_REGISTRY) ? it : it.skip;
  itWithDistribution('is a file distribution 2.8.2 itself starts with over TLS', async () => {
    const configPath = join(setup.dir, 'config.yml');
    await writeFile(configPath, setup.configText);
    await expectDistributionStarts(configPath, setup);
  });

  it('starts berth serve unchanged: TLS on http.addr, logs with log.fields, no refused or ignored key', async () => {
    berth = await startBerth(setup.configText);
    expect(berth.hostPort).toBe(setup.hostPort);
    const output = berth.process.output();
    expect(output).toMatch(/listening on 127\.0\.0\.1:\d+.* service=registry/);
    expect(output).not.toMatch(/ignor|not implemented|unsupported|warn/i);
    await expect(fetch(`http://${setup.hostPort}/v2/`)).rejects.toThrow();
  });

  it('challenges for Basic credentials with the realm and applies http.headers to every response', async () => {
    const anonymous = await httpsGet(setup.hostPort, '/v2/', setup.ca);
    expect([anonymous.status, anonymous.headers['www-authenticate']]).toEqual([401, 'Basic realm="basic-realm"']);
    const signedIn = await httpsGet(setup.hostPort, '/v2/', setup.ca, `${USER}:${PASSWORD}`);
    expect(signedIn.status).toBe(200);
    for (const response of [anonymous, signedIn]) expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses a skopeo push without credentials (401), verifying the certificate with ca.crt', async () => {
    await expect(skopeo(['copy', '--all', '--quiet', ...tls('dest', false), `oci:${fixture.dir}:multi`, image()])).rejects.toThrow(
      /unauthorized|authentication required/i,
    );
  });

  it('pushes a multi-arch image with --dest-creds and pulls it back byte-identical with --src-creds', async () => {
    await skopeo(['copy', '--all', '--quiet', ...tls('dest'), `oci:${fixture.dir}:multi`, image()]);
    await expectPullIdentical();
  });

  it('notifies the endpoint of the pushes and pulls, with its headers, the repository, the tag and the htpasswd user', async () => {
    const platformManifests = fixture.multi.images.map((i) => i.manifest.digest).sort();
    let events: WireEvent[] = [];
    const deadline = Date.now() + 15_000;
    for (;;) {
      events = receiver.events();
      const pulled = new Set(events.filter((e) => e.action === 'pull').map((e) => e.target.digest));
      if (pulled.has(fixture.multi.index.digest) && platformManifests.every((d) => pulled.has(d))) break;
      if (Date.now() > deadline) {
        throw new Error(`no pull event for every manifest within 15 s: ${JSON.stringify(events.map((e) => [e.action, e.target.digest]))}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const envelope of receiver.envelopes) {
      expect([envelope.method, envelope.headers['content-type'], envelope.headers.authorization]).toEqual(['POST', EVENTS_MEDIA_TYPE, 'Bearer webhook-token']);
    }
    expect(events.every((e) => e.target.repository === REPOSITORY && e.actor.name === USER)).toBe(true);

    const pushes = events.filter((e) => e.action === 'push');
    const tagged = pushes.find((e) => e.target.tag === TAG);
    expect(tagged?.target).toMatchObject({ digest: fixture.multi.index.digest, mediaType: 'application/vnd.oci.image.index.v1+json', repository: REPOSITORY });
    expect(tagged?.target.references?.map((r) => r.digest).sort()).toEqual(platformManifests);
    const pushedDigests = new Set(pushes.map((e) => e.target.digest));
    for (const digest of indexDigests(fixture.multi)) expect([digest, pushedDigests.has(digest)]).toEqual([digest, true]);
    expect(events.filter((e) => e.action === 'pull' && e.target.tag === TAG)).not.toHaveLength(0);
  });

  it('answers /debug/health with 200 on the plain-HTTP debug server and exports request and storage metrics', async () => {
    const health = await fetch(`${setup.debugUrl}/debug/health`);
    expect([health.status, await health.text()]).toEqual([200, '{}']);
    const scraped = await fetch(`${setup.debugUrl}/metrics`);
    expect(scraped.status).toBe(200);
    const samples = parseExposition(await scraped.text());
    const requests = (method: string, code: string): number | undefined => metricValue(samples, 'registry_http_requests_total', { handler: 'manifest', method, code });
    expect(requests('PUT', '201')).toBe(3);
    expect(requests('GET', '200')).toBeGreaterThanOrEqual(3);
    expect(metricValue(samples, 'registry_storage_action_seconds_count', { driver: 'filesystem' })).toBeGreaterThan(0);
  });

  it('restarted with REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED=true: pulls over TLS, refuses push and delete', async () => {
    await berth!.stop();
    berth = undefined;
    berth = await startBerth(setup.configText, { env: { REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED: 'true' } });
    await expectReadOnly(berth);
  });

  it('restarted with readonly.enabled: true in the file: pulls over TLS, refuses push and delete', async () => {
    await berth!.stop();
    berth = undefined;
    const readOnlyText = setup.configText.replace('    readonly:\n      enabled: false', '    readonly:\n      enabled: true');
    expect(readOnlyText).not.toBe(setup.configText);
    berth = await startBerth(readOnlyText);
    await expectReadOnly(berth);
  });
});
