import { filesystemDriverFactory } from '@berth/driver-filesystem';
import { inmemoryDriverFactory } from '@berth/driver-inmemory';
import { s3DriverFactory } from '@berth/driver-s3';
import { DriverFactories } from '@berth/storage-driver';

/** The registry the `berth` command uses: the real inmemory, filesystem and s3 factories. */
export function realDrivers(): DriverFactories {
  return new DriverFactories([inmemoryDriverFactory, filesystemDriverFactory, s3DriverFactory]);
}
