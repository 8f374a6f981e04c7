import type { BigIntStats } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PathNotFoundError, wrapDriver, type StorageDriver } from '@berth/storage-driver';
import { FilesystemDriver } from '@berth/driver-filesystem';
import { isLocalFilesystem } from '../src/local-filesystem';
import { RevalidatedCache, SETTLE_MS, SETTLE_MS_COARSE } from '../src/revalidated-cache';

const NOW = 1_800_000_000_000;

/** Stats with a ctime of `ctimeMs` plus 123 ns (a filesystem with fine timestamps) unless `coarse`. */
function statsOf(fields: { ino?: bigint; size?: bigint; ctimeMs: number; coarse?: boolean }): BigIntStats {
  const ctimeNs = BigInt(fields.ctimeMs) * 1_000_000n + (fields.coarse ? 0n : 123n);
  return { dev: 1n, ino: fields.ino ?? 7n, size: fields.size ?? 71n, mtimeNs: ctimeNs, ctimeNs } as BigIntStats;
}

describe('RevalidatedCache', () => {
  it('does not remember an entry changed within the settle time (its stats may not change on the next write)', () => {
    const cache = new RevalidatedCache<string>(1000, () => NOW);
    cache.set('/f', statsOf({ ctimeMs: NOW - SETTLE_MS + 5 }), 'fresh', 10);
    expect(cache.size).toBe(0);
    cache.set('/f', statsOf({ ctimeMs: NOW - SETTLE_MS - 1 }), 'settled', 10);
    expect(cache.get('/f', statsOf({ ctimeMs: NOW - SETTLE_MS - 1 }))).toBe('settled');
  });

  it('waits longer before remembering entries of a filesystem with whole-second timestamps', () => {
    const cache = new RevalidatedCache<string>(1000, () => NOW);
    const wholeSecond = Math.floor((NOW - SETTLE_MS - 1000) / 1000) * 1000;
    cache.set('/f', statsOf({ ctimeMs: wholeSecond, coarse: true }), 'fresh', 10);
    expect(cache.size).toBe(0);
    cache.set('/f', statsOf({ ctimeMs: wholeSecond - SETTLE_MS_COARSE, coarse: true }), 'settled', 10);
    expect(cache.size).toBe(1);
  });

  it('forgets an entry whose inode, size or times changed', () => {
    const cache = new RevalidatedCache<string>(1000, () => NOW);
    const old = NOW - 10_000;
    for (const changed of [statsOf({ ctimeMs: old, ino: 8n }), statsOf({ ctimeMs: old, size: 72n }), statsOf({ ctimeMs: old + 1 })]) {
      cache.set('/f', statsOf({ ctimeMs: old }), 'v1', 10);
      expect(cache.get('/f', changed)).toBeUndefined();
      expect(cache.has('/f')).toBe(false);
    }
  });

  it('stays within its weight budget, dropping the oldest entries, and skips entries heavier than a quarter of it', () => {
    const cache = new RevalidatedCache<string>(40, () => NOW);
    const stats = statsOf({ ctimeMs: NOW - 10_000 });
    for (let i = 0; i < 20; i++) cache.set(`/f${i}`, stats, 'v', 10);
    expect(cache.size).toBe(4);
    expect(cache.has('/f0')).toBe(false);
    expect(cache.has('/f19')).toBe(true);
    cache.set('/big', stats, 'v', 11);
    expect(cache.has('/big')).toBe(false);
  });
});

describe('filesystem driver: remembered contents and listings follow changes made by other processes', () => {
  let root: string;
  let driver: StorageDriver;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-fs-cache-'));
    // A clock far ahead: every file counts as settled, so everything read is remembered.
    driver = wrapDriver(new FilesystemDriver(root, 100, { now: () => Date.now() + 3_600_000 }));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('sees a link replaced by rename from another process on the next read', async () => {
    await driver.putContent('/tags/latest/link', Buffer.from('sha256:aaaa'));
    expect((await driver.getContent('/tags/latest/link')).toString()).toBe('sha256:aaaa');
    expect((await driver.getContent('/tags/latest/link')).toString()).toBe('sha256:aaaa');
    await writeFile(join(root, 'tags/latest/.other'), 'sha256:bbbb');
    await rename(join(root, 'tags/latest/.other'), join(root, 'tags/latest/link'));
    expect((await driver.getContent('/tags/latest/link')).toString()).toBe('sha256:bbbb');
  });

  it('sees bytes appended in place and a file deleted by another process', async () => {
    await driver.putContent('/f', Buffer.from('abc'));
    await driver.getContent('/f');
    await appendFile(join(root, 'f'), 'def');
    expect((await driver.getContent('/f')).toString()).toBe('abcdef');
    await rm(join(root, 'f'));
    await expect(driver.getContent('/f')).rejects.toBeInstanceOf(PathNotFoundError);
  });

  it('hands out copies: a caller changing the buffer it got does not change what the next caller reads', async () => {
    await driver.putContent('/f', Buffer.from('abc'));
    (await driver.getContent('/f')).fill(0x7a);
    (await driver.getContent('/f')).fill(0x7a);
    expect((await driver.getContent('/f')).toString()).toBe('abc');
  });

  it('counts tmpfs as a local filesystem, and procfs or a missing directory as not', async () => {
    expect(await isLocalFilesystem('/dev/shm')).toBe(true);
    expect(await isLocalFilesystem('/proc')).toBe(false);
    expect(await isLocalFilesystem(join(root, 'does-not-exist'))).toBe(false);
  });

  it('lists entries added and removed by another process at once', async () => {
    await driver.putContent('/tags/a/link', Buffer.from('x'));
    expect(await driver.list('/tags')).toEqual(['/tags/a']);
    expect(await driver.list('/tags')).toEqual(['/tags/a']);
    await mkdir(join(root, 'tags/b'));
    expect(await driver.list('/tags')).toEqual(['/tags/a', '/tags/b']);
    await rm(join(root, 'tags/a'), { recursive: true });
    expect(await driver.list('/tags')).toEqual(['/tags/b']);
    const listed = await driver.list('/tags');
    listed.push('/tags/zzz');
    expect(await driver.list('/tags')).toEqual(['/tags/b']);
  });
});
