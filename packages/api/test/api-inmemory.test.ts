import { createInMemoryDriver } from '@berth/driver-inmemory';
import { describeApiSuite } from './support/api-suite';

describeApiSuite({
  name: 'inmemory',
  create: async () => ({ driver: createInMemoryDriver(), dispose: async () => undefined }),
});
