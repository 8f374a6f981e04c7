import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { createInMemoryDriver } from '@berth/driver-inmemory';
import { pathFor, purgeUploads, Registry, UploadPurgeScheduler, firstPurgeDelay, MAX_FIRST_PURGE_DELAY_MS } from '@berth/registry';
import type { Logger, StorageDriver } from '@berth/storage-driver';
import { allFiles } from './helpers';

const HOUR = 3_600_000;

interface Backend {
  readonly name: string;
  create(): Promise<{ driver: StorageDriver; root?: string; dispose(): Promise<void> }>;
}

const backends: Backend[] = [
  { name: 'inmemory', create: async () => ({ driver: createInMemoryDriver(), dispose: async () => undefined }) },
  {
    name: 'filesystem',
    create: async () => {
      const root = await mkdtemp(join(tmpdir(), 'berth-purge-'));
      const driver = await filesystemDriverFactory.create({ rootdirectory: root }, {});
      return { driver, root, dispose: () => rm(root, { recursive: true, force: true }) };
    },
  },
];

/** Opens an upload session in `name` with some bytes in it and backdates its `startedat` by `ageMs`. */
async function session(registry: Registry, driver: StorageDriver, name: string, ageMs: number): Promise<string> {
  const uploads = registry.repository(name).uploads;
  const { id } = await uploads.start();
  await uploads.append(id, Readable.from([Buffer.from('partial layer bytes')]));
  const startedAt = new Date(Date.now() - ageMs).toISOString();
  await driver.putContent(pathFor({ kind: 'uploadStartedAt', name, id }), Buffer.from(startedAt));
  return id;
}

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & { lines: { level: string; message: string; meta?: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; meta?: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, meta?: Record<string, unknown>): void =>
      void lines.push({ level, message, meta });
  const logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => logger, lines };
  return logger as unknown as Logger & { lines: typeof lines };
}

describe.each(backends)('upload purging on $name', (backend) => {
  let driver: StorageDriver;
  let root: string | undefined;
  let dispose: () => Promise<void>;
  let registry: Registry;

  beforeEach(async () => {
    ({ driver, root, dispose } = await backend.create());
    registry = new Registry({ driver, deleteEnabled: true });
  });
  afterEach(async () => {
    await driver.close?.();
    await dispose();
  });

  it('deletes a session whose startedat is older than the cut-off and keeps a fresh one', async () => {
    const old = await session(registry, driver, 'library/app', 200 * HOUR);
    const fresh = await session(registry, driver, 'library/app', 1 * HOUR);
    const logger = recordingLogger();

    const report = await purgeUploads(driver, { olderThan: new Date(Date.now() - 168 * HOUR), logger });

    expect(report).toMatchObject({ dryRun: false, kept: 1, errors: [], interrupted: false, multipartUploadsAborted: undefined });
    expect(report.purged.map((p) => [p.repository, p.id])).toEqual([['library/app', old]]);
    await expect(registry.repository('library/app').uploads.status(old)).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
    expect((await registry.repository('library/app').uploads.status(fresh)).size).toBe('partial layer bytes'.length);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'info', meta: expect.objectContaining({ repository: 'library/app', upload: old }) }),
    );
  });

  it('finds sessions of nested repository names and of several repositories, and never touches anything else', async () => {
    const a = await session(registry, driver, 'a', 500 * HOUR);
    const deep = await session(registry, driver, 'team/group/service', 500 * HOUR);
    const young = await session(registry, driver, 'team/other', 0);
    const before = await allFiles(driver);

    const report = await purgeUploads(driver, { olderThan: new Date(Date.now() - 24 * HOUR) });

    expect(report.purged.map((p) => `${p.repository}/${p.id}`).sort()).toEqual([`a/${a}`, `team/group/service/${deep}`].sort());
    expect(report.kept).toBe(1);
    const gone = before.filter((path) => !path.includes(a) && !path.includes(deep));
    expect(await allFiles(driver)).toEqual(gone);
    expect(gone.some((path) => path.includes(young))).toBe(true);
  });

  it('deletes nothing in a dry run but reports what it would delete', async () => {
    const old = await session(registry, driver, 'app', 200 * HOUR);
    const before = await allFiles(driver);

    const report = await purgeUploads(driver, { olderThan: new Date(Date.now() - 168 * HOUR), dryRun: true });

    expect(report.dryRun).toBe(true);
    expect(report.purged.map((p) => p.id)).toEqual([old]);
    expect(await allFiles(driver)).toEqual(before);
    expect((await registry.repository('app').uploads.status(old)).size).toBeGreaterThan(0);
  });

  it('reports the start time read from startedat', async () => {
    const startedAt = new Date('2020-01-02T03:04:05.000Z');
    const { id } = await registry.repository('app').uploads.start();
    await driver.putContent(pathFor({ kind: 'uploadStartedAt', name: 'app', id }), Buffer.from(startedAt.toISOString()));
    const report = await purgeUploads(driver, { olderThan: new Date() });
    expect(report.purged).toEqual([{ repository: 'app', id, startedAt }]);
  });

  it('succeeds with nothing to do on empty storage', async () => {
    const report = await purgeUploads(driver, { olderThan: new Date() });
    expect(report).toMatchObject({ purged: [], kept: 0, errors: [] });
  });

  if (backend.name === 'filesystem') {
    it('dates a directory without startedat by its files and purges it only when they are old', async () => {
      const oldId = '11111111-1111-4111-8111-111111111111';
      const newId = '22222222-2222-4222-8222-222222222222';
      for (const id of [oldId, newId]) {
        const writer = await driver.writer(pathFor({ kind: 'uploadData', name: 'app', id }), false);
        await writer.write(Buffer.from('orphaned bytes'));
        await writer.commit();
      }
      const longAgo = new Date(Date.now() - 1000 * HOUR);
      const dir = join(root!, 'docker/registry/v2/repositories/app/_uploads', oldId);
      await utimes(join(dir, 'data'), longAgo, longAgo);
      await utimes(dir, longAgo, longAgo);

      const report = await purgeUploads(driver, { olderThan: new Date(Date.now() - 168 * HOUR) });

      expect(report.purged.map((p) => p.id)).toEqual([oldId]);
      expect(Math.abs(report.purged[0]!.startedAt.getTime() - longAgo.getTime())).toBeLessThan(1000);
      expect(report.kept).toBe(1);
    });
  }

  it('reports a session the driver fails to delete and goes on with the others', async () => {
    const stuck = await session(registry, driver, 'app', 200 * HOUR);
    const other = await session(registry, driver, 'app', 200 * HOUR);
    const faulty: StorageDriver = {
      ...driver,
      delete: (path) => (path.endsWith(stuck) ? Promise.reject(new Error('permission denied')) : driver.delete(path)),
    };
    const report = await purgeUploads(faulty, { olderThan: new Date(Date.now() - HOUR) });
    expect(report.purged.map((p) => p.id)).toEqual([other]);
    expect(report.errors).toEqual([{ path: pathFor({ kind: 'uploadDir', name: 'app', id: stuck }), error: 'permission denied' }]);
    expect((await registry.repository('app').uploads.status(stuck)).size).toBeGreaterThan(0);
  });
});

describe('the upload purge schedule', () => {
  let driver: StorageDriver;
  let registry: Registry;
  beforeEach(() => {
    driver = createInMemoryDriver();
    registry = new Registry({ driver, deleteEnabled: true });
  });

  it('waits a random delay below min(interval, 60 min) before the first run', () => {
    expect(firstPurgeDelay(24 * HOUR, () => 0)).toBe(0);
    expect(firstPurgeDelay(24 * HOUR, () => 0.999999)).toBe(MAX_FIRST_PURGE_DELAY_MS - 4);
    expect(firstPurgeDelay(10_000, () => 0.5)).toBe(5_000);
    for (let i = 0; i < 100; i++) expect(firstPurgeDelay(90_000)).toBeLessThan(90_000);
  });

  it('runs after the first delay, then every interval, logging each run, until stopped', async () => {
    const logger = recordingLogger();
    const runs: number[] = [];
    const old = await session(registry, driver, 'app', 2 * HOUR);
    const scheduler = new UploadPurgeScheduler(driver, {
      ageMs: HOUR,
      intervalMs: 150,
      dryRun: false,
      logger,
      firstRunDelayMs: 20,
      onRun: ({ report }) => void runs.push(report!.purged.length),
    });
    scheduler.start();
    expect(scheduler.nextRunAt).toBeInstanceOf(Date);
    try {
      await waitFor(() => runs.length >= 1);
      await session(registry, driver, 'app', 3 * HOUR);
      await waitFor(() => runs.length >= 2);
    } finally {
      await scheduler.stop();
    }
    expect(runs.slice(0, 2)).toEqual([1, 1]);
    const count = runs.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs.length).toBe(count);
    expect(scheduler.nextRunAt).toBeUndefined();
    await expect(registry.repository('app').uploads.status(old)).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
    expect(logger.lines.filter((l) => l.message === 'upload purge finished').length).toBe(count);
    expect(logger.lines[0]).toMatchObject({ message: 'upload purging scheduled', meta: { firstRunInMs: 20, intervalMs: 150 } });
  });

  it('logs a failed run at error and keeps the schedule', async () => {
    const logger = recordingLogger();
    const failing: StorageDriver = { ...driver, list: () => Promise.reject(new Error('storage is down')) };
    const outcomes: string[] = [];
    const scheduler = new UploadPurgeScheduler(failing, {
      ageMs: HOUR,
      intervalMs: 30,
      dryRun: false,
      logger,
      firstRunDelayMs: 0,
      onRun: ({ error }) => void outcomes.push(error?.message ?? 'ok'),
    });
    scheduler.start();
    try {
      await waitFor(() => outcomes.length >= 2);
    } finally {
      await scheduler.stop();
    }
    expect(outcomes.slice(0, 2)).toEqual(['storage is down', 'storage is down']);
    expect(logger.lines).toContainEqual({ level: 'error', message: 'upload purge failed', meta: { error: 'storage is down' } });
  });

  it('refuses an interval or age that is not positive', () => {
    expect(() => new UploadPurgeScheduler(driver, { ageMs: HOUR, intervalMs: 0, dryRun: false })).toThrow(/interval/);
    expect(() => new UploadPurgeScheduler(driver, { ageMs: 0, intervalMs: HOUR, dryRun: false })).toThrow(/age/);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
