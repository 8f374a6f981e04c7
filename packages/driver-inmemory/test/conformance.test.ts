import { describeDriverConformance } from '@berth/storage-driver/testing';
import { createInMemoryDriver } from '@berth/driver-inmemory';

describeDriverConformance('inmemory', async () => ({ driver: createInMemoryDriver() }));
