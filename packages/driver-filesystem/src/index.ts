import { promises as fs } from 'node:fs';
import { DriverParameterError, wrapDriver, type DriverContext, type DriverFactory, type StorageDriver } from '@berth/storage-driver';
import { FilesystemDriver } from './driver';
import { isLocalFilesystem } from './local-filesystem';
import { DRIVER_NAME, readParameters } from './parameters';

export { FilesystemDriver } from './driver';
export { DEFAULT_MAX_THREADS, DEFAULT_ROOT_DIRECTORY, readParameters, type FilesystemParameters } from './parameters';

/**
 * `storage: { filesystem: { rootdirectory, maxthreads } }`. `create` makes the root directory
 * (and its parents) when missing and returns the driver wrapped with `wrapDriver`.
 */
export const filesystemDriverFactory: DriverFactory = {
  name: DRIVER_NAME,
  validate(parameters: Record<string, unknown>): void {
    readParameters(parameters);
  },
  async create(parameters: Record<string, unknown>, context: DriverContext = {}): Promise<StorageDriver> {
    const { rootDirectory, maxThreads } = readParameters(parameters);
    try {
      await fs.mkdir(rootDirectory, { recursive: true });
      if (!(await fs.stat(rootDirectory)).isDirectory()) throw new Error('it is not a directory');
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DriverParameterError(DRIVER_NAME, 'rootdirectory', `cannot use ${rootDirectory} as the root directory: ${reason}`);
    }
    // Remembered reads are revalidated with `stat`, which only a local filesystem answers truthfully.
    const remember = await isLocalFilesystem(rootDirectory);
    context.logger?.debug('filesystem storage ready', { rootDirectory, maxThreads, remember });
    return wrapDriver(new FilesystemDriver(rootDirectory, maxThreads, { remember }), { observe: context.observe });
  },
};
