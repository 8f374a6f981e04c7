import { ParameterReader, wrapDriver, type DriverContext, type DriverFactory, type StorageDriver, type WrapOptions } from '@berth/storage-driver';
import { DRIVER_NAME, InMemoryDriver } from './driver';

export { InMemoryDriver } from './driver';

/** A fresh, empty in-memory driver, wrapped (validated paths, errors named `inmemory`). */
export function createInMemoryDriver(options: WrapOptions = {}): StorageDriver {
  return wrapDriver(new InMemoryDriver(), options);
}

/** `storage: { inmemory: {} }`: takes no parameters; any given one is rejected as unknown. */
export const inmemoryDriverFactory: DriverFactory = {
  name: DRIVER_NAME,
  validate(parameters: Record<string, unknown>): void {
    new ParameterReader(DRIVER_NAME, parameters ?? {}).rejectUnknown([]);
  },
  async create(parameters: Record<string, unknown>, context: DriverContext = {}): Promise<StorageDriver> {
    inmemoryDriverFactory.validate(parameters);
    return createInMemoryDriver({ observe: context.observe });
  },
};
