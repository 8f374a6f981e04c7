import { resolve } from 'node:path';
import { ParameterReader } from '@berth/storage-driver';

export const DRIVER_NAME = 'filesystem';
export const DEFAULT_ROOT_DIRECTORY = '/var/lib/registry';
export const DEFAULT_MAX_THREADS = 100;
export const MIN_MAX_THREADS = 25;

export interface FilesystemParameters {
  /** Absolute directory holding the store (a relative `rootdirectory` is resolved against the cwd). */
  readonly rootDirectory: string;
  /** Upper bound on the filesystem calls one walk issues at once (distribution's `maxthreads`). */
  readonly maxThreads: number;
}

/**
 * Reads `storage.filesystem`: `rootdirectory` (default `/var/lib/registry`) and `maxthreads`
 * (integer >= 25, default 100). Unknown keys and malformed values throw `DriverParameterError`
 * naming the key.
 */
export function readParameters(parameters: Record<string, unknown> | undefined): FilesystemParameters {
  const reader = new ParameterReader(DRIVER_NAME, parameters ?? {});
  reader.rejectUnknown(['rootdirectory', 'maxthreads']);
  return {
    rootDirectory: resolve(reader.string('rootdirectory', DEFAULT_ROOT_DIRECTORY)),
    maxThreads: reader.integer('maxthreads', DEFAULT_MAX_THREADS, { min: MIN_MAX_THREADS }),
  };
}
