import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import type { Logger } from '@berth/logging';
import { BlobUnknownError, collectGarbage, ManifestUnknownError, Registry, UnavailableError } from '@berth/registry';
import type { DriverOperation, StorageDriver } from '@berth/storage-driver';
import { RedisConnection, RedisSharedCache } from '@berth/redis';
import { redisSkipReason, startRedis, type TestRedis } from '../../../test-support/redis';
import { pushImage } from '../../registry/test/gc-support';

/**
 * Two "replicas": two Registry instances, each with its own Redis connection and shared cache (as
 * two processes on two hosts), over one filesystem storage and one real redis-server.
 */

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, child: () => quiet };
const skip = redisSkipReason();
const describeRedis = skip ? describe.skip : describe;
if (skip) console.warn(`redis shared cache tests skipped: ${skip}`);

interface Replica {
  registry: Registry;
  cache: RedisSharedCache;
  connection: RedisConnection;
  /** Storage reads of this replica's driver since the last `reset`. */
  reads: string[];
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describeRedis('shared metadata cache in Redis, two replicas over one storage', () => {
  let redis: TestRedis;
  let root: string;
  /** One key prefix per test, shared by its replicas. */
  let prefix: string;
  const replicas: Replica[] = [];
  const drivers: StorageDriver[] = [];

  async function replica(): Promise<Replica> {
    const reads: string[] = [];
    const observe = (op: DriverOperation): void => {
      if (['Stat', 'GetContent', 'List', 'Reader', 'Walk'].includes(op.action)) reads.push(op.action);
    };
    const driver = await filesystemDriverFactory.create({ rootdirectory: root }, { observe });
    drivers.push(driver);
    const connection = new RedisConnection({ addrs: [redis.addr], dialTimeoutMs: 1000, readTimeoutMs: 1000, logger: quiet });
    await connection.start();
    const cache = new RedisSharedCache(connection, { logger: quiet, prefix });
    const registry = new Registry({ driver, deleteEnabled: true, sharedCache: cache });
    const r = { registry, cache, connection, reads };
    replicas.push(r);
    await until(() => cache.status.usable, 'the cache is usable');
    return r;
  }

  beforeAll(async () => {
    redis = await startRedis({ extraArgs: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-redis-cache-'));
    prefix = `${root.slice(-6)}:`;
  });
  afterEach(async () => {
    for (const r of replicas.splice(0)) {
      r.cache.close();
      await r.connection.close();
    }
    for (const d of drivers.splice(0)) await d.close?.();
    await rm(root, { recursive: true, force: true });
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('a tag moved on replica A is served at once by replica B, which had the old digest cached', async () => {
    const [a, b] = [await replica(), await replica()];
    const one = await pushImage(a.registry.repository('app'), { layers: ['one'], tag: 'latest' });
    expect((await b.registry.repository('app').manifests.get({ tag: 'latest' })).digest.equals(one.digest)).toBe(true);
    expect((await b.registry.repository('app').manifests.get({ tag: 'latest' })).digest.equals(one.digest)).toBe(true);
    const two = await pushImage(a.registry.repository('app'), { layers: ['two'], tag: 'latest' });
    expect((await b.registry.repository('app').manifests.get({ tag: 'latest' })).digest.equals(two.digest)).toBe(true);
    expect(await b.registry.repository('app').tags.all()).toEqual(['latest']);
    await pushImage(a.registry.repository('app'), { layers: ['three'], tag: 'v3' });
    expect(await b.registry.repository('app').tags.all()).toEqual(['latest', 'v3']);
  });

  it('a warm manifest GET by tag and a blob stat read nothing from storage', async () => {
    // Every connection renews the epoch (docs/redis.md): the three connect before the cache warms.
    const [a, b, c] = [await replica(), await replica(), await replica()];
    const image = await pushImage(a.registry.repository('app'), { layers: ['layer'], tag: 'v1' });
    const repo = b.registry.repository('app');
    await repo.manifests.get({ tag: 'v1' });
    await repo.blobs.stat(image.layers[0]!);
    await repo.tags.list();
    // A third process: its own per-process caches are cold.
    c.reads.length = 0;
    const got = await c.registry.repository('app').manifests.get({ tag: 'v1' });
    expect(got.content.equals(image.content)).toBe(true);
    expect((await c.registry.repository('app').blobs.stat(image.layers[0]!)).size).toBe(5);
    expect((await c.registry.repository('app').tags.list()).items).toEqual(['v1']);
    expect(c.reads).toEqual([]);
    expect(c.cache.status.hits).toBeGreaterThan(0);
  });

  it('a manifest, a tag and a blob deleted on A are gone on B at once', async () => {
    const [a, b] = [await replica(), await replica()];
    const image = await pushImage(a.registry.repository('app'), { layers: ['x'], tag: 'v1' });
    await pushImage(a.registry.repository('app'), { layers: ['y'], tag: 'v2' });
    const onB = b.registry.repository('app');
    await onB.manifests.get({ tag: 'v1' });
    await onB.manifests.get({ digest: image.digest });
    await onB.blobs.stat(image.layers[0]!);
    expect(await onB.tags.all()).toEqual(['v1', 'v2']);

    await a.registry.repository('app').manifests.delete({ tag: 'v2' });
    expect(await onB.tags.all()).toEqual(['v1']);
    await expect(onB.manifests.get({ tag: 'v2' })).rejects.toBeInstanceOf(ManifestUnknownError);

    await a.registry.repository('app').manifests.delete({ digest: image.digest });
    await expect(onB.manifests.get({ digest: image.digest })).rejects.toBeInstanceOf(ManifestUnknownError);
    await expect(onB.manifests.get({ tag: 'v1' })).rejects.toBeInstanceOf(ManifestUnknownError);

    await a.registry.repository('app').blobs.delete(image.layers[0]!);
    await expect(onB.blobs.stat(image.layers[0]!)).rejects.toBeInstanceOf(BlobUnknownError);
  });

  it('garbage collection invalidates everything: push, delete, collect, re-push the same image, pull works on both', async () => {
    const [a, b] = [await replica(), await replica()];
    const image = await pushImage(a.registry.repository('app'), { layers: ['gc-layer'], tag: 'v1' });
    for (const r of [a, b]) {
      await r.registry.repository('app').manifests.get({ tag: 'v1' });
      await r.registry.repository('app').blobs.stat(image.layers[0]!);
    }
    await a.registry.repository('app').manifests.delete({ digest: image.digest });
    await collectGarbage(drivers[0]!, { gracePeriodMs: 0, settleMs: 0, invalidate: () => a.cache.invalidateAll() });
    for (const r of [a, b]) await expect(r.registry.repository('app').blobs.stat(image.layers[0]!)).rejects.toBeInstanceOf(BlobUnknownError);
    const again = await pushImage(b.registry.repository('app'), { layers: ['gc-layer'], tag: 'v1' });
    expect(again.digest.equals(image.digest)).toBe(true);
    for (const r of [a, b]) {
      const repo = r.registry.repository('app');
      const got = await repo.manifests.get({ tag: 'v1' });
      expect(got.content.equals(image.content)).toBe(true);
      const chunks: Buffer[] = [];
      for await (const chunk of await repo.blobs.open(image.layers[0]!)) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('gc-layer');
    }
  });

  it('Redis stopped mid-traffic: pulls keep working from storage, writes are refused (503) before storage changes; restarted: used again, nothing stale served', async () => {
    const [a, b] = [await replica(), await replica()];
    const one = await pushImage(a.registry.repository('app'), { layers: ['one'], tag: 'latest' });
    await b.registry.repository('app').manifests.get({ tag: 'latest' });

    await redis.stop();
    await until(() => !a.cache.status.connected && !b.cache.status.connected, 'both see Redis down');
    expect(a.cache.status.usable).toBe(false);
    const fallbacksBefore = b.cache.status.fallbacks;
    expect((await b.registry.repository('app').manifests.get({ tag: 'latest' })).digest.equals(one.digest)).toBe(true);
    expect(b.cache.status.fallbacks).toBeGreaterThan(fallbacksBefore);
    await expect(pushImage(a.registry.repository('app'), { layers: ['two'], tag: 'latest' })).rejects.toBeInstanceOf(UnavailableError);
    expect((await b.registry.repository('app').manifests.get({ tag: 'latest' })).digest.equals(one.digest)).toBe(true);

    // A change made to storage while Redis was away (a process that could not announce it): the
    // entries Redis restores from its append-only file must not serve the old digest afterwards.
    const plain = new Registry({ driver: drivers[0]!, deleteEnabled: true });
    const two = await pushImage(plain.repository('app'), { layers: ['two'], tag: 'latest' });

    await redis.start();
    await until(() => a.cache.status.usable && b.cache.status.usable, 'both use the cache again');
    expect((await b.registry.repository('app').manifests.get({ tag: 'latest' })).digest.equals(two.digest)).toBe(true);
    const hitsBefore = b.cache.status.hits;
    expect((await b.registry.repository('app').manifests.get({ tag: 'latest' })).digest.equals(two.digest)).toBe(true);
    expect(b.cache.status.hits).toBeGreaterThan(hitsBefore);
    const three = await pushImage(a.registry.repository('app'), { layers: ['three'], tag: 'latest' });
    expect((await b.registry.repository('app').manifests.get({ tag: 'latest' })).digest.equals(three.digest)).toBe(true);
  });
});
