import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { defineSkopeoSuite } from './helpers/skopeo-suite';

const skipReason = s3SkipReason();
if (skipReason) console.warn(`SKIPPED berth serve on S3 with skopeo: ${skipReason}`);
const describeS3 = skipReason ? describe.skip : describe;

describeS3(`berth serve on the s3 driver, with skopeo (${skipReason ? 'skipped' : describeS3Server()})`, () => {
  defineSkopeoSuite({
    storage: async () => ({ s3: s3TestParameters('cli-e2e')! }),
    checkDeleteDisabled: true,
    redirects: true,
  });
});
