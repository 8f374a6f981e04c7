import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '@berth/api';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { s3DriverFactory } from '@berth/driver-s3';
import { silentLogger } from '@berth/logging';
import { collectGarbage, Registry, type GarbageCollectReport } from '@berth/registry';
import type { StorageDriver } from '@berth/storage-driver';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { deleteManifest, makeImage, pullImage, pushImage, sha256, type PushOutcome } from './gc-client';

/**
 * Garbage collection looping while a client pushes over real HTTP (the registry's express app on a
 * loopback port, the same storage driver): the push must complete and pull back byte-identical,
 * and the collections running meanwhile must have deleted nothing the pushed image needs.
 */

interface Backend {
  readonly name: string;
  readonly skipReason?: string;
  readonly layers: number;
  /** Pause between collections in the no-grace loop: a push attempt must fit between two runs to get through. */
  readonly pauseMs: number;
  /** Per-test timeout: generous, a loaded 2-core machine (and an RGW on it) can be many times slower than an idle one. */
  readonly timeoutMs: number;
  create(): Promise<{ driver: StorageDriver; dispose(): Promise<void> }>;
}

const backends: Backend[] = [
  { name: 'inmemory', layers: 40, pauseMs: 300, timeoutMs: 300_000, create: async () => ({ driver: createInMemoryDriver(), dispose: async () => undefined }) },
  {
    name: 'filesystem',
    layers: 40,
    pauseMs: 300,
    timeoutMs: 300_000,
    create: async () => {
      const root = await mkdtemp(join(tmpdir(), 'berth-gc-http-'));
      return { driver: await filesystemDriverFactory.create({ rootdirectory: root }, {}), dispose: () => rm(root, { recursive: true, force: true }) };
    },
  },
  {
    name: `s3 (${s3SkipReason() ?? describeS3Server()})`,
    skipReason: s3SkipReason(),
    layers: 20,
    pauseMs: 1500,
    timeoutMs: 900_000,
    create: async () => {
      const driver = await s3DriverFactory.create(s3TestParameters('gc-http')!, {});
      return {
        driver,
        dispose: async () => {
          for (const path of await driver.list('/').catch(() => [])) await driver.delete(path);
          await driver.close?.();
        },
      };
    },
  },
];

async function serve(driver: StorageDriver): Promise<{ base: string; server: Server }> {
  const app = createApp(new Registry({ driver, deleteEnabled: true }), {
    logger: silentLogger(),
    redirect: true,
    secret: 'gc-online-http',
    relativeUrls: false,
    accessLogDisabled: true,
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * Runs collections, at least `pauseMs` apart, until `stop` settles or `signal` aborts (the test ended, e.g.
 * timed out: nothing keeps collecting after it); resolves with their reports.
 */
async function collectUntil(
  driver: StorageDriver,
  stop: Promise<unknown>,
  gracePeriodMs: number,
  pauseMs: number,
  signal: AbortSignal,
): Promise<GarbageCollectReport[]> {
  let done = false;
  void stop.then(
    () => (done = true),
    () => (done = true),
  );
  const reports: GarbageCollectReport[] = [];
  // The pause doubles after each run (up to 20 times the first): the first runs race the push
  // closely, and however slow a loaded machine makes a push attempt, one soon fits between two runs.
  let pause = pauseMs;
  while (!done && !signal.aborted) {
    reports.push(await collectGarbage(driver, { gracePeriodMs, settleMs: 20, signal }));
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, pauseMs * 20);
  }
  return reports;
}

const layer = (i: number, size = 48 * 1024): Buffer => Buffer.concat([Buffer.from(`layer ${i} `), randomBytes(size)]);

for (const backend of backends) {
  const suite = backend.skipReason ? describe.skip : describe;
  if (backend.skipReason) console.warn(`!!! SKIPPED: garbage collection during HTTP pushes on ${backend.name}`);

  suite(`garbage collection during HTTP pushes on ${backend.name}`, () => {
    let driver: StorageDriver;
    let dispose: () => Promise<void>;
    let base: string;
    let server: Server;
    let ended: AbortController;

    beforeEach(async () => {
      ended = new AbortController();
      ({ driver, dispose } = await backend.create());
      ({ base, server } = await serve(driver));
    });
    afterEach(async () => {
      ended.abort();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await dispose();
    });

    it('a push of many layers, re-using layers that exist but nothing references, completes and pulls back byte-identical while GC with no grace period loops', async () => {
      // Garbage that the new push re-uses: pushed, then its manifest deleted (blobs stored, linked, unreferenced).
      const reused = [layer(0), layer(1), layer(2)];
      const old = makeImage(reused, 'old');
      await pushImage(base, 'app', 'old', old);
      await deleteManifest(base, 'app', old.digest);

      const image = makeImage([...reused, ...Array.from({ length: backend.layers }, (_, i) => layer(i + 3))], 'new');
      const push = pushImage(base, 'app', 'new', image);
      const reports = await collectUntil(driver, push, 0, backend.pauseMs, ended.signal);
      const outcome: PushOutcome = await push;
      // One more collection after the push: everything the image needs is referenced now.
      reports.push(await collectGarbage(driver, { gracePeriodMs: 0, settleMs: 0 }));

      await pullImage(base, 'app', 'new', image);
      const needed = new Set([image.digest, sha256(image.config), ...image.layers.map(sha256)]);
      const lastDeleted = reports[reports.length - 1]!.deletedBlobs.map((b) => b.digest);
      expect(lastDeleted.filter((d) => needed.has(d))).toEqual([]);
      expect(reports.flatMap((r) => r.errors)).toEqual([]);
      const rescued = reports.reduce((n, r) => n + r.rescuedBlobs.length, 0);
      const deleted = reports.reduce((n, r) => n + r.deletedBlobs.length, 0);
      console.log(
        `${backend.name}: ${image.layers.length} layers pushed during ${reports.length} collections (grace 0): ` +
          `${outcome.retries} push retries, ${deleted} blobs deleted, ${rescued} put back for the push`,
      );
    }, backend.timeoutMs);

    it('with a grace period, pushes running during collections succeed at the first attempt', async () => {
      const image = makeImage(Array.from({ length: Math.min(backend.layers, 20) }, (_, i) => layer(i)), 'graced');
      const push = pushImage(base, 'graced', 'v1', image, 1);
      const reports = await collectUntil(driver, push, 3_600_000, 0, ended.signal);
      expect((await push).retries).toBe(0);
      await pullImage(base, 'graced', 'v1', image);
      expect(reports.flatMap((r) => r.deletedBlobs)).toEqual([]);
      expect(reports.reduce((n, r) => n + r.protectedBlobs, 0)).toBeGreaterThan(0);
    }, backend.timeoutMs);
  });
}
