import type { StorageDriver } from '@berth/storage-driver';
import { parseS3Parameters, s3DriverFactory, wrapS3Driver, type MultipartUploadAborter } from '@berth/driver-s3';
import { S3Driver } from '../src/driver';
import { s3TestParameters } from '../../../test-support/s3';

export type TestDriver = StorageDriver & MultipartUploadAborter;

/** A wrapped s3 driver on the test server, under a fresh root directory. Call only when s3SkipReason() is undefined. */
export async function createTestDriver(prefix: string, overrides: Record<string, unknown> = {}): Promise<TestDriver> {
  const params = s3TestParameters(prefix, overrides);
  if (!params) throw new Error('no S3 server for the tests (check s3SkipReason() first)');
  return (await s3DriverFactory.create(params, {})) as TestDriver;
}

/** The unwrapped driver (its SDK client can carry middleware that observes requests). */
export function createRawTestDriver(prefix: string, overrides: Record<string, unknown> = {}): { raw: S3Driver; driver: TestDriver } {
  const params = s3TestParameters(prefix, overrides);
  if (!params) throw new Error('no S3 server for the tests (check s3SkipReason() first)');
  const raw = new S3Driver(parseS3Parameters(params));
  return { raw, driver: wrapS3Driver(raw) };
}

/** Removes everything the driver stored under its root (objects and unfinished uploads), then closes it. */
export async function destroyTestDriver(driver: TestDriver): Promise<void> {
  try {
    await driver.abortMultipartUploads(new Date(Date.now() + 3_600_000));
    for (const path of await driver.list('/')) await driver.delete(path);
  } finally {
    await driver.close?.();
  }
}
