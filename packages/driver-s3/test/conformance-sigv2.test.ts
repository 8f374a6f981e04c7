import { describeDriverConformance } from '@berth/storage-driver/testing';
import { describeS3Server, s3SkipReason } from '../../../test-support/s3';
import { createTestDriver, destroyTestDriver } from './helpers';

// The conformance suite again with `v4auth: false`: every request signed with Signature Version 2
// (a file of its own, so that jest runs it beside the SigV4 one).
const skipReason = s3SkipReason();
if (!skipReason) console.log(`s3 conformance with v4auth: false: ${describeS3Server()}`);

describeDriverConformance(
  's3 (v4auth: false, Signature Version 2)',
  async () => {
    const driver = await createTestDriver('conformance-sigv2', { v4auth: false });
    return { driver, destroy: () => destroyTestDriver(driver) };
  },
  { skipReason },
);
