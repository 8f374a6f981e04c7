import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { loadConfig } from '@berth/config';
import { inmemoryDriverFactory } from '@berth/driver-inmemory';
import { DriverFactories, type StorageDriver } from '@berth/storage-driver';
import { startRegistry } from '@berth/cli';
import { REPO_ROOT, startBerth, testConfig } from './helpers/berth';
import { recordingLogger, type InProcessRegistry } from './helpers/in-process';
import { cleanupAll, makeTempDir, run } from './helpers/processes';

/**
 * docs/migrating.md says, key by key, what Berth does with distribution's config.yml. Every key its
 * table calls implemented has a test showing the key changes what the registry does: either here
 * (a registry started in this process from a config, on an instrumented inmemory driver, or the
 * built command), or a test elsewhere, named by file and title, that must exist. A key newly called
 * implemented without one fails this file.
 */

afterAll(cleanupAll);

const MIGRATING = readFileSync(join(REPO_ROOT, 'docs/migrating.md'), 'utf8');

/** The keys of the table's rows whose second cell is `status` (backticked names outside parentheses). */
function keysMarked(status: string): string[] {
  const keys: string[] = [];
  for (const line of MIGRATING.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line.split('|').map((cell) => cell.trim());
    if (cells[2] !== status) continue;
    const names = (cells[1] as string).replace(/\([^)]*\)/g, '');
    for (const match of names.matchAll(/`([^`]+)`/g)) keys.push(match[1] as string);
  }
  return keys;
}

// ---------------------------------------------------------------------------------------------
// A registry in this process over an inmemory driver that counts blob stats and the tag links
// read at once.

interface Probe {
  /** `stat` calls on blob data so far. */
  blobStats: number;
  /** The most tag `current/link` reads in flight at once so far. */
  mostTagReads: number;
}

function instrumentedDrivers(probe: Probe): DriverFactories {
  return new DriverFactories([
    {
      ...inmemoryDriverFactory,
      async create(parameters, context): Promise<StorageDriver> {
        const memory = await inmemoryDriverFactory.create(parameters, context);
        let tagReads = 0;
        return {
          ...memory,
          stat: (path: string) => {
            if (path.includes('/blobs/') && path.endsWith('/data')) probe.blobStats++;
            return memory.stat(path);
          },
          getContent: async (path: string) => {
            if (!path.endsWith('/current/link')) return memory.getContent(path);
            probe.mostTagReads = Math.max(probe.mostTagReads, ++tagReads);
            try {
              // Every read the registry started before this one ends begins meanwhile.
              for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
              return await memory.getContent(path);
            } finally {
              tagReads--;
            }
          },
        };
      },
    },
  ]);
}

async function withRegistry(config: Record<string, unknown>, use: (url: string, probe: Probe, registry: InProcessRegistry) => Promise<void>): Promise<void> {
  const probe: Probe = { blobStats: 0, mostTagReads: 0 };
  const drivers = instrumentedDrivers(probe);
  const full = { version: '0.1', log: { level: 'error' }, http: { addr: '127.0.0.1:0', secret: 'migrating-keys' }, ...config };
  const storage = { inmemory: {}, delete: { enabled: true }, ...(config.storage as Record<string, unknown> | undefined) };
  const loaded = loadConfig({ yamlText: JSON.stringify({ ...full, storage }), env: {}, drivers });
  const logger = recordingLogger();
  const running = await startRegistry(loaded, drivers, logger);
  const registry: InProcessRegistry = {
    ...running,
    logger,
    url: `http://${running.address}`,
    get debugUrl(): string {
      throw new Error('no debug server');
    },
  };
  try {
    await use(registry.url, probe, registry);
  } finally {
    await running.stop();
  }
}

const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function expectStatus(response: Promise<Response>, status: number): Promise<Response> {
  const res = await response;
  if (res.status !== status) throw new Error(`${res.url}: ${res.status} ${await res.text()} (expected ${status})`);
  return res;
}

async function pushBlob(url: string, name: string, content: string): Promise<string> {
  const bytes = Buffer.from(content);
  const digest = sha256(bytes);
  await expectStatus(fetch(`${url}/v2/${name}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes }), 201);
  return digest;
}

/** Pushes an image (config and one layer `layer`) under each tag; resolves with its digest. */
async function pushImage(url: string, name: string, layer: string, tags: readonly string[]): Promise<string> {
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', layer });
  const describe = (mediaType: string, content: string) => ({ mediaType, digest: sha256(Buffer.from(content)), size: Buffer.byteLength(content) });
  await pushBlob(url, name, config);
  await pushBlob(url, name, layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: describe('application/vnd.oci.image.config.v1+json', config),
      layers: [describe('application/vnd.oci.image.layer.v1.tar+gzip', layer)],
    }),
  );
  const headers = { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' };
  for (const tag of tags) await expectStatus(fetch(`${url}/v2/${name}/manifests/${tag}`, { method: 'PUT', headers, body: manifest }), 201);
  return sha256(manifest);
}

/** `storage.cache`: blob stats the driver saw for HEADs of `a b a c b` with three blobs pushed. */
async function blobStatsOfHeads(cache: Record<string, unknown> | undefined): Promise<number> {
  let stats = 0;
  await withRegistry({ storage: cache ? { cache } : {} }, async (url, probe) => {
    const [a, b, c] = [await pushBlob(url, 'app', 'a'), await pushBlob(url, 'app', 'bb'), await pushBlob(url, 'app', 'ccc')];
    const before = probe.blobStats;
    for (const digest of [a, b, a, c, b]) await expectStatus(fetch(`${url}/v2/app/blobs/${digest}`, { method: 'HEAD' }), 200);
    stats = probe.blobStats - before;
  });
  return stats;
}

/** `storage.tag.concurrencylimit`: the most tag links read at once by a manifest delete. */
async function tagReadsOfDelete(limit: number): Promise<number> {
  let most = 0;
  await withRegistry({ storage: { tag: { concurrencylimit: limit } } }, async (url, probe) => {
    await pushImage(url, 'app', 'kept', ['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
    const deleted = await pushImage(url, 'app', 'deleted', ['d0', 'd1', 'd2']);
    probe.mostTagReads = 0;
    await expectStatus(fetch(`${url}/v2/app/manifests/${deleted}`, { method: 'DELETE' }), 202);
    most = probe.mostTagReads;
    const tags = (await (await fetch(`${url}/v2/app/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
  });
  return most;
}

/** The behaviour tests of this file, by key. */
const HERE: Record<string, () => Promise<void>> = {
  'tags.maxtags': async () => {
    await withRegistry({ tags: { maxtags: 2 } }, async (url) => {
      await pushImage(url, 'app', 'layer', ['a', 'b', 'c', 'd', 'e']);
      const page = await expectStatus(fetch(`${url}/v2/app/tags/list?n=5`), 200);
      expect(((await page.json()) as { tags: string[] }).tags).toEqual(['a', 'b']);
      expect(page.headers.get('link')).toBe('</v2/app/tags/list?n=2&last=b>; rel="next"');
    });
  },
  'catalog.maxentries': async () => {
    await withRegistry({ catalog: { maxentries: 2 } }, async (url) => {
      for (const name of ['a', 'b', 'c']) await pushImage(url, name, 'layer', ['v1']);
      await expectStatus(fetch(`${url}/v2/_catalog?n=3`), 400);
      const page = await expectStatus(fetch(`${url}/v2/_catalog?n=2`), 200);
      expect(await page.json()).toEqual({ repositories: ['a', 'b'] });
    });
  },
  'storage.tag.concurrencylimit': async () => {
    expect(await tagReadsOfDelete(1)).toBe(1);
    expect(await tagReadsOfDelete(4)).toBe(4);
  },
  'storage.cache.blobdescriptor': async () => {
    // Without the cache every HEAD stats the blob; with it only the first of each digest does.
    expect(await blobStatsOfHeads(undefined)).toBe(5);
    expect(await blobStatsOfHeads({ blobdescriptor: 'inmemory' })).toBe(3);
  },
  'storage.cache.blobdescriptorsize': async () => {
    // a, b miss; a hits; c misses and evicts b, which misses again (3 with room for every blob).
    expect(await blobStatsOfHeads({ blobdescriptor: 'inmemory', blobdescriptorsize: 2 })).toBe(4);
    expect(await blobStatsOfHeads({ blobdescriptor: 'inmemory', blobdescriptorsize: 1 })).toBe(5);
  },
  'storage.cache.layerinfo': async () => {
    expect(await blobStatsOfHeads({ layerinfo: 'inmemory' })).toBe(3);
  },
  'log.formatter': async () => {
    const berth = await startBerth({ ...testConfig({ inmemory: {} }), log: { level: 'info', formatter: 'json', fields: { service: 'migrating' } } });
    await berth.stop();
    const lines = berth.process.stderr().trim().split('\n');
    const listening = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => String(line.msg).includes(' listening on '));
    // distribution's (logrus's) JSON field names, and log.fields on every line.
    expect(listening).toMatchObject({ level: 'info', service: 'migrating', time: expect.any(String) });
  },
  'http.tls.minimumtls': async () => {
    const dir = await makeTempDir('minimumtls');
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    // prettier-ignore
    await run('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    const ca = readFileSync(cert);
    const get = (url: string, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<number | string> =>
      new Promise((resolve) => {
        request(`${url}/v2/`, { ca, maxVersion, agent: false }, (res) => (res.resume(), resolve(res.statusCode ?? 0)))
          .on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
          .end();
      });
    for (const [minimumtls, expected] of [['tls1.2', 200], ['tls1.3', 'EPROTO']] as const) {
      await withRegistry({ http: { addr: '127.0.0.1:0', secret: 'x', tls: { certificate: cert, key, minimumtls } } }, async (url) => {
        const https = url.replace('http:', 'https:');
        expect(await get(https, 'TLSv1.3')).toBe(200);
        expect(await get(https, 'TLSv1.2')).toBe(expected);
      });
    }
  },
};

/** Keys whose behaviour another test shows: file (from the repository root) and the test's title. */
const ELSEWHERE: Record<string, readonly [file: string, title: string]> = {
  version: ['packages/config/test/defaults.test.ts', 'rejects any other version, including 0.10 which YAML reads as the number 0.1'],
  'log.level': ['packages/cli/test/e2e-startup.test.ts', 'logs the effective configuration at debug, redacted, and each warning at warn'],
  'log.fields': ['packages/cli/test/e2e-registry2-config.test.ts', 'starts berth serve unchanged: TLS on http.addr, logs with log.fields, no refused or ignored key'],
  'log.accesslog.disabled': [
    'packages/cli/test/e2e-operations.test.ts',
    'prints one line per request with its id, route, repository, status and bytes; REGISTRY_LOG_ACCESSLOG_DISABLED silences it',
  ],
  loglevel: ['packages/config/test/defaults.test.ts', 'fills log.level when that is empty, with a deprecation warning'],
  'storage.filesystem': ['packages/driver-filesystem/test/filesystem.test.ts', 'stores driver path /a/b as the file <rootdirectory>/a/b'],
  'storage.inmemory': ['packages/cli/test/helpers/skopeo-suite.ts', 'pushes a single-arch image by tag and pulls it back byte-identical by tag'],
  'storage.s3': ['packages/driver-s3/test/operations.test.ts', 'presigns redirect URLs for redirectendpoint when it is set'],
  'storage.delete.enabled': ['packages/cli/test/helpers/skopeo-suite.ts', 'refuses skopeo delete when storage.delete.enabled is false, and the manifest stays'],
  'storage.redirect.disable': ['packages/cli/test/helpers/skopeo-suite.ts', 'streams blobs itself with storage.redirect.disable, pulled back byte-identical'],
  'storage.maintenance.uploadpurging': ['packages/cli/test/metrics.test.ts', 'purges the abandoned upload session on schedule and counts it'],
  'storage.maintenance.readonly.enabled': ['packages/cli/test/e2e-registry2-config.test.ts', 'restarted with readonly.enabled: true in the file: pulls over TLS, refuses push and delete'],
  'auth.none': ['packages/api/test/support/suite-blobs.ts', 'pushes a blob in one POST and serves it with its headers'],
  'auth.silly': ['packages/api/test/auth-cors.test.ts', 'passes any Authorization header as user silly, and challenges without one, one scope per access'],
  'auth.htpasswd': ['packages/cli/test/e2e-auth.test.ts', 'refuses a push without credentials or with a wrong password'],
  'auth.token': ['packages/cli/test/e2e-auth.test.ts', 'pushes and pulls with tokens from the realm, and refuses a push to a user granted pull only'],
  'http.addr': ['packages/cli/test/e2e-startup.test.ts', 'listens on REGISTRY_HTTP_ADDR rather than the file’s http.addr'],
  'http.net': ['packages/cli/test/e2e-startup.test.ts', 'serves on a unix socket with net: unix, and removes the socket when stopped'],
  'http.prefix': ['packages/api/test/options.test.ts', 'serves under http.prefix and puts the prefix in Locations and Links; other paths fall through'],
  'http.host': ['packages/api/test/options.test.ts', 'uses http.host for absolute Locations, or relative ones with relativeurls'],
  'http.secret': ['packages/cli/test/e2e-shared-upload.test.ts', 'refuses an upload URL signed with another http.secret'],
  'http.relativeurls': ['packages/api/test/options.test.ts', 'uses http.host for absolute Locations, or relative ones with relativeurls'],
  'http.draintimeout': ['packages/cli/test/e2e-startup.test.ts', 'lets a request in flight at SIGTERM finish within http.draintimeout, then exits 0'],
  'http.headers': ['packages/cli/test/e2e-registry2-config.test.ts', 'challenges for Basic credentials with the realm and applies http.headers to every response'],
  'http.tls.certificate': ['packages/cli/test/e2e-tls.test.ts', 'serves HTTPS with http.tls.certificate and key, and nothing over plain HTTP'],
  'http.tls.key': ['packages/cli/test/e2e-tls.test.ts', 'serves HTTPS with http.tls.certificate and key, and nothing over plain HTTP'],
  'http.tls.clientcas': ['packages/cli/test/e2e-tls.test.ts', 'requires a client certificate signed by http.tls.clientcas by default'],
  'http.tls.clientauth': ['packages/cli/test/e2e-tls.test.ts', 'accepts a connection without a client certificate with clientauth verify-client-cert-if-given'],
  'http.debug.addr': ['packages/cli/test/metrics.test.ts', 'serves /debug/health ({} while healthy) and metrics at the configured path only'],
  'http.debug.prometheus': ['packages/cli/test/metrics.test.ts', 'serves /debug/health ({} while healthy) and metrics at the configured path only'],
  'notifications.events.includereferences': ['packages/notifications/test/events.test.ts', 'adds the references of manifests with includereferences'],
  'notifications.endpoints': ['packages/notifications/test/serve.test.ts', 'delivers the events of a served registry and re-sends after a restart those the receiver missed'],
  'health.storagedriver': ['packages/cli/test/e2e-operations.test.ts', 'turns /debug/health and storage requests to 503 while the root cannot be read, and back when it can'],
  'proxy.remoteurl': ['packages/proxy/test/mirror-berth-upstream.test.ts', 'pulls a manifest by tag and its blobs by digest byte-identical, stored in the normal layout'],
  'proxy.username': ['packages/proxy/test/mirror-upstream-auth.test.ts', 'answers the Basic challenge with proxy.username/password, then sends them up front'],
  'proxy.password': ['packages/proxy/test/mirror-upstream-auth.test.ts', 'answers the Basic challenge with proxy.username/password, then sends them up front'],
  redis: ['packages/redis/test/shared-cache.test.ts', 'a tag moved on replica A is served at once by replica B, which had the old digest cached'],
  'proxy.ttl': ['packages/proxy/test/mirror-expiry.test.ts', 'removes the tag, the manifest revision and the layer links once the TTL passed; blob data is left for GC'],
};

const implemented = keysMarked('implemented');

describe('docs/migrating.md, key by key', () => {
  it('has a table of implemented and ignored keys', () => {
    expect(implemented.length).toBeGreaterThan(30);
    expect(keysMarked('ignored')).toContain('http.http2.disabled');
  });

  it('has a behaviour test for every key it calls implemented, and none for a key it does not', () => {
    expect(implemented.filter((key) => !(key in HERE) && !(key in ELSEWHERE))).toEqual([]);
    expect([...Object.keys(HERE), ...Object.keys(ELSEWHERE)].filter((key) => !implemented.includes(key))).toEqual([]);
  });

  it.each(Object.entries(ELSEWHERE))('%s: shown by an existing test', (_key, [file, title]) => {
    const path = join(REPO_ROOT, file);
    expect(existsSync(path) && readFileSync(path, 'utf8').includes(`'${title}'`)).toBe(true);
  });

  it.each(Object.keys(HERE))('%s: changes what the registry does', async (key) => {
    await (HERE[key] as () => Promise<void>)();
  }, 60_000);

  it('warns at start-up that http.http2 is ignored', () => {
    const loaded = loadConfig({ yamlText: 'version: 0.1\nstorage: inmemory\nhttp:\n  http2:\n    disabled: true\n', env: {}, drivers: instrumentedDrivers({ blobStats: 0, mostTagReads: 0 }) });
    expect(loaded.warnings).toContain('http.http2: accepted for compatibility with distribution but not implemented by Berth; ignored');
  });
});
