import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createApp } from '@berth/api';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { silentLogger } from '@berth/logging';
import { Digest, Registry, collectGarbage, pathFor } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';

/**
 * The event loop stays fair under long in-process loops: a registry on the filesystem driver, served
 * over real HTTP on loopback, keeps answering `GET /v2/` while garbage collection marks tens of
 * thousands of manifests it has read before (every read answered from the driver's memory) and
 * while 10,000-tag lists are served. Latencies are printed (p50/p99/max), never asserted: only
 * that the answers came, and that they came *between* the mark's reads rather than after them.
 */

const REPOSITORIES = 20;
const REVISIONS_PER_REPOSITORY = 1000;
const TAGS = 10_000;
const SEED_CONCURRENCY = 32;
/** Long enough for the filesystem driver to remember what was written (its settle time is 100 ms). */
const SETTLE_WAIT_MS = 300;
const TIMEOUT_MS = 600_000;

function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Runs `jobs` with at most `limit` at once. */
async function runLimited(jobs: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** Writes a file of the storage layout directly (seeding tens of thousands through HTTP would take minutes). */
async function put(root: string, driverPath: string, content: Buffer | string): Promise<void> {
  const full = join(root, driverPath);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, content);
}

/** Latency percentiles (ms) of a sample, for the log. */
function percentiles(samples: readonly number[]): string {
  if (samples.length === 0) return 'no samples';
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): string => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms over ${samples.length} requests`;
}

/** One GET; resolves with the status and the body. */
function fetchOnce(agent: Agent, url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** Pause between two pings: a steady trickle, not a load test competing with the work it watches. */
const PING_PAUSE_MS = 5;

/**
 * Asks `GET /v2/` again and again, one request at a time with `PING_PAUSE_MS` between them (a timer,
 * which a starved event loop would not fire either), until `stop` settles. Each answer records its
 * latency and `mark()` at the moment it arrived.
 */
async function pingUntil<M>(agent: Agent, base: string, stop: Promise<unknown>, mark: () => M): Promise<{ latencies: number[]; marks: M[] }> {
  let done = false;
  void stop.then(
    () => (done = true),
    () => (done = true),
  );
  const latencies: number[] = [];
  const marks: M[] = [];
  while (!done) {
    const started = performance.now();
    const { status } = await fetchOnce(agent, `${base}/v2/`);
    expect(status).toBe(200);
    latencies.push(performance.now() - started);
    marks.push(mark());
    await new Promise((resolve) => setTimeout(resolve, PING_PAUSE_MS));
  }
  return { latencies, marks };
}

describe('the server keeps answering GET /v2/ during long in-process loops (filesystem driver, real HTTP)', () => {
  let root: string;
  let driver: StorageDriver;
  let server: Server;
  let base: string;
  let agent: Agent;
  /** Reads of manifest data (`blobs/…/data`) through the driver, counted as they finish. */
  let blobReads = 0;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-event-loop-'));
    const real = await filesystemDriverFactory.create({ rootdirectory: root }, {});
    blobReads = 0;
    driver = {
      ...real,
      getContent: async (path) => {
        const content = await real.getContent(path);
        if (path.includes('/blobs/')) blobReads++;
        return content;
      },
    };
    const registry = new Registry({ driver, logger: silentLogger(), deleteEnabled: true, catalogMaxEntries: 1000 });
    const app = createApp(registry, {
      logger: silentLogger(),
      redirect: false,
      secret: 'event-loop-http',
      relativeUrls: false,
      accessLogDisabled: true,
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    agent = new Agent({ keepAlive: true, maxSockets: 4 });
  });

  afterEach(async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(root, { recursive: true, force: true });
  });

  it(
    `answers between the reads of a garbage collection marking ${REPOSITORIES * REVISIONS_PER_REPOSITORY} remembered manifests`,
    async () => {
      const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
      const layer = Buffer.from('one shared layer');
      const configDigest = Digest.parse(`sha256:${sha256(config)}`);
      const layerDigest = Digest.parse(`sha256:${sha256(layer)}`);
      const manifests: Digest[] = [];
      const jobs: (() => Promise<void>)[] = [
        () => put(root, pathFor({ kind: 'blobData', digest: configDigest }), config),
        () => put(root, pathFor({ kind: 'blobData', digest: layerDigest }), layer),
      ];
      for (let r = 0; r < REPOSITORIES; r++) {
        const name = `many/repo-${r}`;
        for (const digest of [configDigest, layerDigest]) jobs.push(() => put(root, pathFor({ kind: 'layerLink', name, digest }), digest.toString()));
        for (let i = 0; i < REVISIONS_PER_REPOSITORY; i++) {
          const manifest = JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest.toString(), size: config.length },
            layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest.toString(), size: layer.length }],
            annotations: { revision: `${r}-${i}` },
          });
          const digest = Digest.parse(`sha256:${sha256(manifest)}`);
          manifests.push(digest);
          jobs.push(async () => {
            await put(root, pathFor({ kind: 'blobData', digest }), manifest);
            await put(root, pathFor({ kind: 'revisionLink', name, digest }), digest.toString());
          });
        }
      }
      await runLimited(jobs, SEED_CONCURRENCY);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_WAIT_MS));
      // Every manifest read once, so that the driver remembers them all when the collection reads them.
      await runLimited(
        manifests.map((digest) => async () => void (await driver.getContent(pathFor({ kind: 'blobData', digest })))),
        SEED_CONCURRENCY,
      );

      const readsBefore = blobReads;
      const run = collectGarbage(driver, { dryRun: true });
      const pings = await pingUntil(agent, base, run, () => blobReads - readsBefore);
      const report = await run;
      const reads = blobReads - readsBefore;

      expect(report.manifests).toBe(REPOSITORIES * REVISIONS_PER_REPOSITORY);
      expect(report.deletedBlobs).toEqual([]);
      expect(reads).toBeGreaterThanOrEqual(REPOSITORIES * REVISIONS_PER_REPOSITORY);
      // Answers arrived while the mark was reading, not only before its first read or after its last.
      const amidReads = pings.marks.filter((seen) => seen > 0 && seen < reads);
      console.log(
        `GET /v2/ during a GC of ${report.manifests} remembered manifests (${reads} reads, ${(report.durationMs / 1000).toFixed(1)} s): ` +
          `${percentiles(pings.latencies)}; ` +
          `${amidReads.length} answered between the mark's reads`,
      );
      expect(amidReads.length).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );

  it(
    `keeps answering while ${TAGS.toLocaleString('en')}-tag lists are served`,
    async () => {
      const name = 'many/tags';
      const digest = Digest.parse(`sha256:${sha256('not read by a tag list')}`);
      const jobs = Array.from({ length: TAGS }, (_, i) => () => put(root, pathFor({ kind: 'tagCurrentLink', name, tag: `t${i}` }), digest.toString()));
      await runLimited(jobs, SEED_CONCURRENCY);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_WAIT_MS));

      let listsDone = 0;
      const lists = (async () => {
        for (let i = 0; i < 10; i++) {
          const { status, body } = await fetchOnce(agent, `${base}/v2/${name}/tags/list`);
          expect(status).toBe(200);
          expect((JSON.parse(body.toString('utf8')) as { tags: string[] }).tags).toHaveLength(TAGS);
          listsDone++;
        }
      })();
      const pings = await pingUntil(agent, base, lists, () => listsDone);
      await lists;

      const whileListing = pings.marks.filter((done) => done < 10);
      console.log(`GET /v2/ while ${TAGS}-tag lists were served: ${percentiles(pings.latencies)}; ${whileListing.length} answered before the last list`);
      expect(whileListing.length).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );
});
