import { createInMemoryDriver } from '@berth/driver-inmemory';
import { Digest } from '@berth/registry';
import { SCHEDULER_STATE_PATH } from '@berth/proxy';
import { PathNotFoundError, type StorageDriver } from '@berth/storage-driver';
import { call, eventually, makeImage, pushImage, type TestImage } from './support/images';
import { startMirror, startUpstream, type RunningMirror, type RunningServer } from './support/servers';
import { blobState, exists } from './support/storage';

const FAST = { saveIntervalMs: 50, minSweepIntervalMs: 20, pollIntervalMs: 20 };
const HOUR = 3_600_000;

/**
 * The scheduler's clock: the wall clock plus what the test `advance`d. A test moves time past the
 * TTL when it has done what must happen before expiry, so a slow machine cannot expire content
 * in the middle of a pull.
 */
function testClock(): { now: () => number; advance: (ms: number) => void } {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
}

async function readState(driver: StorageDriver): Promise<Record<string, { Key: string; ExpiryData: string; EntryType: number }> | undefined> {
  try {
    return JSON.parse((await driver.getContent(SCHEDULER_STATE_PATH)).toString());
  } catch (error) {
    if (error instanceof PathNotFoundError) return undefined;
    throw error;
  }
}

/** Pulls the image's manifest by tag and every blob through the mirror. */
async function pullAll(mirror: RunningMirror, name: string, tag: string, image: TestImage): Promise<void> {
  expect((await call('GET', `${mirror.url}/v2/${name}/manifests/${tag}`)).status).toBe(200);
  for (const digest of image.blobs.keys()) expect((await call('GET', `${mirror.url}/v2/${name}/blobs/${digest}`)).status).toBe(200);
}

async function manifestCached(driver: StorageDriver, name: string, image: TestImage): Promise<boolean> {
  return exists(driver, { kind: 'revisionLink', name, digest: Digest.parse(image.digest) });
}

/** `proxy.ttl`: cached content is removed once it is older than the TTL, also across restarts. */
describe('expiry of a pull-through cache', () => {
  let upstream: RunningServer;
  const mirrors: RunningMirror[] = [];
  const name = 'expiring/app';
  let image: TestImage;

  beforeEach(async () => {
    upstream = await startUpstream();
    image = makeImage([4000, 5000]);
    await pushImage(upstream.url, name, 'v1', image);
  });

  afterEach(async () => {
    for (const mirror of mirrors.splice(0)) await mirror.stop();
    await upstream.stop();
  });

  async function mirrorWith(ttlMs: number, driver: StorageDriver = createInMemoryDriver(), now?: () => number): Promise<RunningMirror> {
    const mirror = await startMirror(upstream.url, { ttlMs, driver, expiry: { ...FAST, now } });
    mirrors.push(mirror);
    return mirror;
  }

  it("records what it fetched in /scheduler-state.json, in distribution's format", async () => {
    const mirror = await mirrorWith(3_600_000);
    const before = Date.now();
    await pullAll(mirror, name, 'v1', image);
    expect(mirror.cache.scheduled().map((e) => [e.kind, e.digest.toString()]).sort()).toEqual(
      [['manifest', image.digest], ...[...image.blobs.keys()].map((d) => ['blob', d])].sort(),
    );
    const entries = image.blobs.size + 1;
    await eventually(async () => Object.keys((await readState(mirror.driver)) ?? {}).length === entries, 60_000, 'the schedule to be saved');
    const state = (await readState(mirror.driver))!;
    const entry = state[`${name}@${image.digest}`]!;
    expect(entry).toEqual({ Key: `${name}@${image.digest}`, ExpiryData: expect.any(String), EntryType: 1 });
    expect(Date.parse(entry.ExpiryData)).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(state[`${name}@${image.layers[0]!.digest}`]!.EntryType).toBe(0);
  });

  it('removes the tag, the manifest revision and the layer links once the TTL passed; blob data is left for GC', async () => {
    const clock = testClock();
    const mirror = await mirrorWith(HOUR, createInMemoryDriver(), clock.now);
    await pullAll(mirror, name, 'v1', image);
    expect(await manifestCached(mirror.driver, name, image)).toBe(true);
    clock.advance(2 * HOUR);

    await eventually(async () => !(await manifestCached(mirror.driver, name, image)), 60_000, 'the manifest to expire');
    await eventually(async () => mirror.cache.scheduled().length === 0, 60_000, 'every entry to expire');
    expect(await exists(mirror.driver, { kind: 'tagDir', name, tag: 'v1' })).toBe(false);
    for (const digest of image.blobs.keys()) expect(await blobState(mirror.driver, name, digest)).toEqual({ data: true, link: false });
    await eventually(async () => Object.keys((await readState(mirror.driver)) ?? { x: 1 }).length === 0, 60_000, 'the saved schedule to empty');

    // Expired content is gone: with the upstream stopped, the tag cannot be served any more.
    await upstream.stop();
    expect((await call('GET', `${mirror.url}/v2/${name}/manifests/v1`)).status).toBe(503);
  });

  it('asks the upstream again for expired content, with a fresh expiry; blob data still stored is relinked after a HEAD', async () => {
    const clock = testClock();
    const mirror = await mirrorWith(HOUR, createInMemoryDriver(), clock.now);
    await pullAll(mirror, name, 'v1', image);
    clock.advance(2 * HOUR);
    await eventually(async () => mirror.cache.scheduled().length === 0, 60_000, 'every entry to expire');
    await pullAll(mirror, name, 'v1', image);
    expect(upstream.count('GET', `/v2/${name}/manifests/${image.digest}`)).toBe(2);
    const layer = `/v2/${name}/blobs/${image.layers[0]!.digest}`;
    expect({ gets: upstream.count('GET', layer), heads: upstream.count('HEAD', layer) }).toEqual({ gets: 1, heads: 1 });
    expect(mirror.cache.scheduled()).toHaveLength(image.blobs.size + 1);
  });

  it('expires after a restart what fell due while the registry was stopped', async () => {
    const driver = createInMemoryDriver();
    const clock = testClock();
    const first = await mirrorWith(HOUR, driver, clock.now);
    await pullAll(first, name, 'v1', image);
    await first.stop();
    mirrors.splice(mirrors.indexOf(first), 1);
    const saved = (await readState(driver))!;
    expect(Object.keys(saved)).toHaveLength(image.blobs.size + 1);
    // Stopped while every saved expiry passes.
    const latest = Math.max(...Object.values(saved).map((entry) => new Date(entry.ExpiryData).getTime()));
    clock.advance(latest - clock.now() + 1);
    expect(await manifestCached(driver, name, image)).toBe(true);

    const second = await mirrorWith(HOUR, driver, clock.now);
    await eventually(async () => !(await manifestCached(driver, name, image)), 60_000, 'the manifest to expire after the restart');
    await eventually(async () => second.cache.scheduled().length === 0, 60_000, 'every entry to expire');
    expect(await blobState(driver, name, image.layers[0]!.digest)).toEqual({ data: true, link: false });
  });

  it('reads a schedule distribution wrote (nanosecond times with a zone offset)', async () => {
    const driver = createInMemoryDriver();
    const plain = await mirrorWith(0, driver);
    await pullAll(plain, name, 'v1', image);
    await plain.stop();
    mirrors.splice(mirrors.indexOf(plain), 1);
    const key = `${name}@${image.digest}`;
    const later = `${name}@${image.layers[0]!.digest}`;
    await driver.putContent(
      SCHEDULER_STATE_PATH,
      Buffer.from(
        JSON.stringify({
          [key]: { Key: key, ExpiryData: '2020-01-02T03:04:05.123456789+02:00', EntryType: 1 },
          [later]: { Key: later, ExpiryData: '2999-01-02T03:04:05.987654321Z', EntryType: 0 },
        }),
      ),
    );
    const mirror = await mirrorWith(3_600_000, driver);
    await eventually(async () => !(await manifestCached(driver, name, image)), 60_000, 'the due manifest to expire');
    expect(mirror.cache.scheduled().map((e) => [e.kind, e.digest.toString(), new Date(e.expiresAt).toISOString()])).toEqual([
      ['blob', image.layers[0]!.digest, '2999-01-02T03:04:05.987Z'],
    ]);
    expect(await blobState(driver, name, image.layers[0]!.digest)).toEqual({ data: true, link: true });
  });

  it('keeps cached content and writes no schedule with ttl 0', async () => {
    const mirror = await mirrorWith(0);
    await pullAll(mirror, name, 'v1', image);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(mirror.cache.scheduled()).toEqual([]);
    expect(await readState(mirror.driver)).toBeUndefined();
    expect(await manifestCached(mirror.driver, name, image)).toBe(true);
  });
});
