import {
  assertValidPath,
  normalizeError,
  wrapDriver,
  type DriverContext,
  type DriverFactory,
  type StorageDriver,
  type WrapOptions,
} from '@berth/storage-driver';
import type { Logger } from '@berth/storage-driver';
import type { S3Driver } from './driver';
import { classifyS3Error } from './errors';
import { DRIVER_NAME, parseS3Parameters, type S3Parameters } from './params';

export type { S3Driver } from './driver';
export {
  DEFAULTS as S3_DEFAULTS,
  LOG_LEVELS,
  OBJECT_ACLS,
  PARAMETER_KEYS as S3_PARAMETER_KEYS,
  STORAGE_CLASSES,
  parseS3Parameters,
  type S3Parameters,
} from './params';
export { MAX_PARTS, MIN_PART_SIZE, MAX_PART_SIZE, copyPartSize, copyRanges } from './limits';
export { isNotFound as isS3NotFound, isUnavailable as isS3Unavailable } from './errors';

/** What a driver that can reclaim unfinished multipart uploads offers besides `StorageDriver`. */
export interface MultipartUploadAborter {
  /**
   * Aborts the unfinished writes (S3 multipart uploads and their tail objects) at `path` or below
   * it (default `/`, everything under the root directory) started before `olderThan`. Resolves
   * with the number aborted.
   */
  abortMultipartUploads(olderThan: Date, path?: string): Promise<number>;
}

/** True for a driver (wrapped or not) that offers `abortMultipartUploads`. */
export function canAbortMultipartUploads(driver: StorageDriver): driver is StorageDriver & MultipartUploadAborter {
  return typeof (driver as Partial<MultipartUploadAborter>).abortMultipartUploads === 'function';
}

/**
 * Wraps an `S3Driver` like every driver (`wrapDriver`: path validation, typed errors, timings)
 * and keeps its `abortMultipartUploads`, validated and typed the same way. Connection failures,
 * timeouts and 5xx/`SlowDown` left after the SDK's retries become `StorageUnavailableError`.
 */
export function wrapS3Driver(impl: S3Driver, options: WrapOptions = {}): StorageDriver & MultipartUploadAborter {
  options = { classifyError: classifyS3Error, ...options };
  const wrapped = wrapDriver(impl, options);
  const abortMultipartUploads = async (olderThan: Date, path = '/'): Promise<number> => {
    const started = performance.now();
    try {
      assertValidPath(impl.name, path, true);
      const aborted = await impl.abortMultipartUploads(olderThan, path);
      options.observe?.({ driver: impl.name, action: 'AbortMultipartUploads', durationMs: performance.now() - started });
      return aborted;
    } catch (error) {
      const typed = normalizeError(impl.name, error, options.classifyError);
      options.observe?.({ driver: impl.name, action: 'AbortMultipartUploads', durationMs: performance.now() - started, error: typed });
      throw typed;
    }
  };
  return Object.assign(wrapped, { abortMultipartUploads });
}

/**
 * An unwrapped `S3Driver`. The AWS SDK is loaded here, on the first driver created, not when the
 * package is imported: a registry on another driver (which still validates `storage.s3` sections
 * through the factory) never loads it.
 */
export async function createS3Driver(params: S3Parameters, logger?: Logger): Promise<S3Driver> {
  // A require at the call, not an import at the top: this is what defers loading the SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { S3Driver: Driver } = require('./driver') as typeof import('./driver');
  return new Driver(params, logger);
}

/**
 * The `s3` driver factory: distribution's s3-aws parameters and code defaults (see params.ts).
 * The driver it creates also offers `abortMultipartUploads` (see `canAbortMultipartUploads`).
 * `v4auth: false` signs with AWS Signature Version 2 (sigv2.ts), for stores that speak no SigV4.
 */
export const s3DriverFactory: DriverFactory = {
  name: DRIVER_NAME,
  secretParameters: ['secretkey'],
  validate(parameters: Record<string, unknown>): void {
    parseS3Parameters(parameters);
  },
  async create(parameters: Record<string, unknown>, context: DriverContext): Promise<StorageDriver> {
    const params = parseS3Parameters(parameters);
    return wrapS3Driver(await createS3Driver(params, context.logger), { observe: context.observe });
  },
};
