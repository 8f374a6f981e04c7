import { Readable } from 'node:stream';
import { s3DriverFactory } from '@berth/driver-s3';
import { pathFor, purgeUploads, Registry, STORAGE_ROOT } from '@berth/registry';
import { PathNotFoundError, type StorageDriver } from '@berth/storage-driver';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';

/** Upload purging on S3: sessions go, and so do the multipart uploads that hold their parts. */

const skipReason = s3SkipReason();
const describeS3 = skipReason ? describe.skip : describe;
const HOUR = 3_600_000;

type Aborting = StorageDriver & { abortMultipartUploads(olderThan: Date, path?: string): Promise<number> };

describeS3(`upload purging on s3 (${skipReason ?? describeS3Server()})`, () => {
  let driver: Aborting;
  let registry: Registry;

  beforeEach(async () => {
    driver = (await s3DriverFactory.create(s3TestParameters('purge')!, {})) as Aborting;
    registry = new Registry({ driver, deleteEnabled: true });
  });
  afterEach(async () => {
    await driver.abortMultipartUploads(new Date(Date.now() + HOUR));
    for (const path of await driver.list('/')) await driver.delete(path);
    await driver.close?.();
  });

  /** A session with a PATCHed chunk: on S3 its bytes sit in an unfinished multipart upload. */
  async function session(name: string, ageMs: number): Promise<string> {
    const uploads = registry.repository(name).uploads;
    const { id } = await uploads.start();
    await uploads.append(id, Readable.from([Buffer.alloc(1024, 7)]));
    const startedAt = new Date(Date.now() - ageMs).toISOString();
    await driver.putContent(pathFor({ kind: 'uploadStartedAt', name, id }), Buffer.from(startedAt));
    return id;
  }

  /** True while the path has an unfinished write a writer can resume. */
  async function resumable(path: string): Promise<boolean> {
    try {
      const writer = await driver.writer(path, true);
      await writer.close();
      return true;
    } catch (error) {
      if (error instanceof PathNotFoundError) return false;
      throw error;
    }
  }

  it('deletes an old session and aborts its multipart upload, and keeps a fresh session with its upload', async () => {
    const old = await session('app', 200 * HOUR);
    const fresh = await session('app', 0);
    const oldData = pathFor({ kind: 'uploadData', name: 'app', id: old });
    const freshData = pathFor({ kind: 'uploadData', name: 'app', id: fresh });
    expect(await resumable(oldData)).toBe(true);

    const report = await purgeUploads(driver, { olderThan: new Date(Date.now() - HOUR) });

    expect(report.purged.map((p) => p.id)).toEqual([old]);
    expect(report).toMatchObject({ kept: 1, errors: [], multipartUploadsAborted: 1 });
    expect(await resumable(oldData)).toBe(false);
    await expect(driver.list(pathFor({ kind: 'uploadDir', name: 'app', id: old }))).rejects.toBeInstanceOf(PathNotFoundError);
    expect(await resumable(freshData)).toBe(true);
    expect((await registry.repository('app').uploads.status(fresh)).size).toBe(1024);
  });

  it('aborts an abandoned multipart upload outside any session once it is older than the cut-off', async () => {
    const abandoned = `${STORAGE_ROOT}/blobs/sha256/ab/${'ab'.repeat(32)}/data`;
    const writer = await driver.writer(abandoned, false);
    await writer.write(Buffer.alloc(2048, 1));
    await writer.close();

    const notYet = await purgeUploads(driver, { olderThan: new Date(Date.now() - HOUR) });
    expect(notYet.multipartUploadsAborted).toBe(0);
    expect(await resumable(abandoned)).toBe(true);

    const report = await purgeUploads(driver, { olderThan: new Date(Date.now() + 60_000) });
    expect(report.multipartUploadsAborted).toBe(1);
    expect(await resumable(abandoned)).toBe(false);
  });

  it('deletes and aborts nothing in a dry run', async () => {
    const old = await session('app', 200 * HOUR);
    const data = pathFor({ kind: 'uploadData', name: 'app', id: old });

    const report = await purgeUploads(driver, { olderThan: new Date(Date.now() + 60_000), dryRun: true });

    expect(report).toMatchObject({ dryRun: true, multipartUploadsAborted: 0 });
    expect(report.purged.map((p) => p.id)).toEqual([old]);
    expect(await resumable(data)).toBe(true);
    expect((await registry.repository('app').uploads.status(old)).size).toBe(1024);
  });
});
