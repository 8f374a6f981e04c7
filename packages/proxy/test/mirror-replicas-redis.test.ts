import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import type { Logger } from '@berth/logging';
import { SCHEDULER_STATE_PATH } from '@berth/proxy';
import { RedisConnection, RedisExpirySchedule, RedisFetchLocks, RedisSharedCache } from '@berth/redis';
import type { StorageDriver } from '@berth/storage-driver';
import { redisSkipReason, startRedis, type TestRedis } from '../../../test-support/redis';
import { call, eventually, makeImage, pushImage, type TestImage } from './support/images';
import { berthApp, listen, startMirror, type RunningMirror, type RunningServer } from './support/servers';
import { createInMemoryDriver } from '@berth/driver-inmemory';

const skip = redisSkipReason();
const describeRedis = skip ? describe.skip : describe;

/** A logger that keeps the messages logged at info (the expiry's "removed" lines). */
function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    error: () => undefined,
    warn: () => undefined,
    info: (message: string, fields?: Record<string, unknown>) => void lines.push(`${message} ${JSON.stringify(fields ?? {})}`),
    debug: () => undefined,
    child: () => logger,
  };
  return logger;
}

/** An upstream Berth whose blob GETs, once `close()` was called, wait for `open()` before they are answered. */
async function gatedUpstream(): Promise<RunningServer & { open(): void; close(): void }> {
  const app = berthApp(createInMemoryDriver());
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let gated = false;
  const server = await listen((req, res) => {
    if (gated && req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')) void gate.then(() => app(req, res));
    else app(req, res);
  });
  return {
    ...server,
    open,
    close: () => void (gated = true),
  };
}

/**
 * Two replicas of a pull-through cache (each its own Registry, shared metadata cache, Redis
 * connection and ProxyCache) on one filesystem root and one redis-server, in front of one upstream.
 */
describeRedis('a pull-through cache on several replicas sharing Redis', () => {
  let redis: TestRedis;
  let root: string;
  let driver: StorageDriver;
  const connections: RedisConnection[] = [];
  const mirrors: RunningMirror[] = [];
  const servers: RunningServer[] = [];
  let prefixCount = 0;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.close();
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-proxy-replicas-'));
    driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
  });
  afterEach(async () => {
    for (const mirror of mirrors.splice(0)) await mirror.stop();
    for (const server of servers.splice(0)) await server.stop();
    for (const connection of connections.splice(0)) await connection.close();
    await rm(root, { recursive: true, force: true });
  });

  interface Replica {
    mirror: RunningMirror;
    schedule: RedisExpirySchedule;
    lockAttempts: { taken: number; refused: number };
    lines: string[];
  }

  /** One replica; `prefix` separates the tests' keys in the one redis-server. */
  async function replica(upstreamUrl: string, prefix: string, options: { ttlMs?: number; now?: () => number } = {}): Promise<Replica> {
    const lines: string[] = [];
    const logger = recordingLogger(lines);
    const connection = new RedisConnection({ addrs: [redis.addr], dialTimeoutMs: 2000, readTimeoutMs: 2000, logger });
    connections.push(connection);
    await connection.start();
    const sharedCache = new RedisSharedCache(connection, { logger, prefix });
    await sharedCache.settled();
    const schedule = new RedisExpirySchedule(connection, { prefix });
    const locks = new RedisFetchLocks(connection, { logger, prefix });
    const lockAttempts = { taken: 0, refused: 0 };
    const fetchLocks = {
      async tryLock(digest: string) {
        const lock = await locks.tryLock(digest);
        if (lock) lockAttempts.taken++;
        else lockAttempts.refused++;
        return lock;
      },
    };
    const mirror = await startMirror(upstreamUrl, {
      driver,
      logger,
      sharedCache,
      ttlMs: options.ttlMs ?? 0,
      shared: { schedule, fetchLocks },
      expiry: { pollIntervalMs: 50, minSweepIntervalMs: 20, now: options.now },
    });
    mirrors.push(mirror);
    return { mirror, schedule, lockAttempts, lines };
  }

  it('concurrent misses for one blob on two replicas fetch it from the upstream once; both serve it whole', async () => {
    const upstream = await gatedUpstream();
    servers.push(upstream);
    const image = makeImage([300_000]);
    await pushImage(upstream.url, 'lib/app', 'v1', image);
    upstream.close();
    const prefix = `t${++prefixCount}:`;
    const [a, b] = [await replica(upstream.url, prefix), await replica(upstream.url, prefix)];
    const layer = image.layers[0]!;
    const path = `/v2/lib/app/blobs/${layer.digest}`;

    const pulls = [call('GET', `${a.mirror.url}${path}`), call('GET', `${b.mirror.url}${path}`)];
    // Answered only once the second replica found the lock held (or, without the lock, once both
    // replicas asked the upstream): the two misses overlap.
    await eventually(() => a.lockAttempts.refused + b.lockAttempts.refused > 0 || upstream.count('GET', path) >= 2, 60_000, 'both misses');
    upstream.open();
    const [first, second] = await Promise.all(pulls);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.body.equals(layer.bytes)).toBe(true);
    expect(second.body.equals(layer.bytes)).toBe(true);
    expect(upstream.count('GET', path)).toBe(1);
    expect(a.lockAttempts.taken + b.lockAttempts.taken).toBe(1);
  });

  it('keeps one schedule in Redis with the entries of both replicas, imports the state file once, expires each entry once; both replicas then fetch again', async () => {
    const upstream = await gatedUpstream();
    upstream.open();
    servers.push(upstream);
    const images: Record<string, TestImage> = { 'one/app': makeImage([2000]), 'two/app': makeImage([3000]) };
    for (const [name, image] of Object.entries(images)) await pushImage(upstream.url, name, 'v1', image);
    // A schedule left by a single-process Berth (or distribution): imported at the first start.
    const imported = 'old/app@sha256:' + 'a'.repeat(64);
    await driver.putContent(
      SCHEDULER_STATE_PATH,
      Buffer.from(JSON.stringify({ [imported]: { Key: imported, ExpiryData: '2999-01-01T00:00:00Z', EntryType: 0 } })),
    );
    let offset = 0;
    const now = (): number => Date.now() + offset;
    const prefix = `t${++prefixCount}:`;
    const [a, b] = [await replica(upstream.url, prefix, { ttlMs: 3_600_000, now }), await replica(upstream.url, prefix, { ttlMs: 3_600_000, now })];

    const pull = async (mirror: RunningMirror, name: string): Promise<void> => {
      expect((await call('GET', `${mirror.url}/v2/${name}/manifests/v1`)).status).toBe(200);
      for (const digest of images[name]!.blobs.keys()) expect((await call('GET', `${mirror.url}/v2/${name}/blobs/${digest}`)).status).toBe(200);
    };
    await pull(a.mirror, 'one/app');
    await pull(b.mirror, 'two/app');

    const expected = [
      `blob ${imported}`,
      ...Object.entries(images).flatMap(([name, image]) => [`manifest ${name}@${image.digest}`, ...[...image.blobs.keys()].map((d) => `blob ${name}@${d}`)]),
    ].sort();
    const scheduled = async (): Promise<string[]> => (await a.schedule.list()).map((e) => `${e.kind} ${e.key}`).sort();
    await eventually(async () => (await scheduled()).length === expected.length, 60_000, 'both replicas to schedule what they cached');
    expect(await scheduled()).toEqual(expected);
    expect((await b.mirror.cache.scheduledAll()).map((e) => `${e.kind} ${e.digest}`)).toHaveLength(expected.length);
    // Nothing went to the state file.
    expect(JSON.parse((await driver.getContent(SCHEDULER_STATE_PATH)).toString())).toEqual({
      [imported]: { Key: imported, ExpiryData: '2999-01-01T00:00:00Z', EntryType: 0 },
    });

    // Two hours later (by the replicas' clock): every entry but the imported one is due.
    offset = 2 * 3_600_000;
    await eventually(async () => (await scheduled()).length === 1, 60_000, 'the due entries to expire');
    expect(await scheduled()).toEqual([`blob ${imported}`]);
    const removed = [...a.lines, ...b.lines].filter((line) => line.startsWith('cached content expired and removed'));
    expect(removed).toHaveLength(expected.length - 1);

    // Both replicas miss now: each fetches the manifest from the upstream again.
    // The replica that cached an image asks first (its own process remembered the most).
    for (const [name, order] of [['one/app', [a, b]], ['two/app', [b, a]]] as const) {
      const manifest = `/v2/${name}/manifests/${images[name]!.digest}`;
      const before = upstream.count('GET', manifest);
      for (const r of order) await pull(r.mirror, name);
      expect(upstream.count('GET', manifest)).toBe(before + 1);
    }
    // A restarted replica does not import the state file again.
    const c = await replica(upstream.url, prefix, { ttlMs: 3_600_000, now });
    await c.mirror.cache.scheduledAll();
    expect(c.lines.some((line) => line.startsWith('imported the pull-through cache schedule'))).toBe(false);
    expect([...a.lines, ...b.lines].filter((line) => line.startsWith('imported the pull-through cache schedule'))).toHaveLength(1);
  });
});
