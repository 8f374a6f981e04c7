import { createS3Driver, wrapS3Driver, parseS3Parameters } from '@berth/driver-s3';
import { collectGarbage, Registry, STORAGE_ROOT } from '@berth/registry';
import { walkByList, type DriverOperation, type StorageDriver } from '@berth/storage-driver';
import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { countS3Requests, showRequests, totalRequests } from '../../../test-support/s3-requests';
import { pushImage } from './gc-support';

/**
 * What garbage collection costs on S3, counted twice: driver operations (the `observe` hook every
 * factory passes to `wrapDriver`) and the HTTP requests the SDK sends (a middleware on the client).
 * The store: one repository, two images, 50 blobs; the second image (24 blobs) is deleted.
 */

const skipReason = s3SkipReason();
const describeS3 = skipReason ? describe.skip : describe;
if (skipReason) console.warn(`!!! SKIPPED: garbage collection driver calls on s3: ${skipReason}`);

type Counts = Record<string, number>;

function tally(counts: Counts, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

describeS3(`garbage collection driver calls on s3 (${skipReason ?? describeS3Server()})`, () => {
  let driver: StorageDriver;
  let operations: Counts;
  let requests: Counts;

  beforeAll(async () => {
    operations = {};
    requests = {};
    const impl = await createS3Driver(parseS3Parameters(s3TestParameters('gc-calls')!));
    countS3Requests(impl, requests);
    driver = wrapS3Driver(impl, { observe: (op: DriverOperation) => tally(operations, op.action) });
  });
  afterAll(async () => {
    for (const path of await driver.list('/').catch(() => [])) await driver.delete(path);
    await driver.close?.();
  });

  const reset = (): void => {
    for (const key of Object.keys(operations)) delete operations[key];
    for (const key of Object.keys(requests)) delete requests[key];
  };

  it('collects a repository of 50 blobs with a bounded number of calls, none per directory', async () => {
    const repo = new Registry({ driver, deleteEnabled: true }).repository('team/app');
    await pushImage(repo, { layers: Array.from({ length: 24 }, (_, i) => `kept layer ${i}`), tag: 'kept' });
    const gone = await pushImage(repo, { layers: Array.from({ length: 22 }, (_, i) => `gone layer ${i}`), tag: 'gone' });
    await repo.manifests.delete({ digest: gone.digest });

    reset();
    const dry = await collectGarbage(driver, { dryRun: true, gracePeriodMs: 0 });
    const dryOps = { ...operations };
    const dryRequests = { ...requests };
    expect(dry).toMatchObject({ blobs: 50, marked: 26 });
    expect(dry.deletedBlobs).toHaveLength(24);

    reset();
    const report = await collectGarbage(driver, { gracePeriodMs: 0, settleMs: 0 });
    const runOps = { ...operations };
    const runRequests = { ...requests };
    expect(report.deletedBlobs).toHaveLength(24);
    expect(report.errors).toEqual([]);

    // What enumerating the same blobs with one listing per directory would have cost.
    reset();
    await walkByList(driver, `${STORAGE_ROOT}/blobs`, () => undefined);
    const perDirectory = { ...requests };

    console.log(
      [
        'garbage collection on S3, 1 repository, 50 blobs, 24 of them garbage:',
        `  dry run: ${totalRequests(dryOps)} driver operations (${showRequests(dryOps)}); ${totalRequests(dryRequests)} S3 requests (${showRequests(dryRequests)})`,
        `  real run: ${totalRequests(runOps)} driver operations (${showRequests(runOps)}); ${totalRequests(runRequests)} S3 requests (${showRequests(runRequests)})`,
        `  (listing blobs/ one directory at a time instead of one walk: ${totalRequests(perDirectory)} S3 requests)`,
      ].join('\n'),
    );
    // Mark: one walk per tree, each a flat listing, and one read per manifest (the kept one; the deleted one is not a revision).
    expect(dryOps).toEqual({ Walk: 2, GetContent: 1, List: 1 });
    expect(dryRequests.ListObjectsV2).toBeLessThanOrEqual(4);
    // Sweep: per garbage blob a stat, its link's removal and a move (a copy and a delete); the quarantine goes in one batch.
    expect(runOps.Walk).toBe(3);
    expect(runOps.Move).toBe(24);
    expect(runRequests.DeleteObjects).toBeLessThanOrEqual(24 + 1);
    expect(totalRequests(runRequests)).toBeLessThan(24 * 10);
  });
});
