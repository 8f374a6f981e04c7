import { describeDriverConformance } from '@berth/storage-driver/testing';
import { describeS3Server, s3SkipReason } from '../../../test-support/s3';
import { createTestDriver, destroyTestDriver } from './helpers';

const skipReason = s3SkipReason();
if (!skipReason) console.log(`s3 conformance: ${describeS3Server()}`);

describeDriverConformance(
  's3',
  async () => {
    const driver = await createTestDriver('conformance');
    return { driver, destroy: () => destroyTestDriver(driver) };
  },
  { skipReason },
);
