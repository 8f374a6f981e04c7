import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { makeTempDir } from './helpers/processes';
import { definePoliciesSkopeoSuite } from './helpers/skopeo-policies-suite';

/** Immutable tags, quotas, usage and retention with skopeo, on the filesystem and S3 drivers. */

describe('policies on the filesystem driver, with skopeo', () => {
  definePoliciesSkopeoSuite(async () => ({ filesystem: { rootdirectory: await makeTempDir('fs-root') } }));
});

const skipReason = s3SkipReason();
if (skipReason) console.warn(`SKIPPED policies on S3 with skopeo: ${skipReason}`);
(skipReason ? describe.skip : describe)(`policies on the s3 driver, with skopeo (${skipReason ? 'skipped' : describeS3Server()})`, () => {
  definePoliciesSkopeoSuite(async () => ({ s3: s3TestParameters(`cli-e2e-policies-${process.pid}`)! }));
});
