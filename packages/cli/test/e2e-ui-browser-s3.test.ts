import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { browserSkipReason, defineUiBrowserSuite } from './helpers/ui-browser-suite';

const skipReason = s3SkipReason() ?? browserSkipReason();
if (skipReason) console.warn(`SKIPPED the web UI in Chromium on the s3 driver: ${skipReason}`);

(skipReason ? describe.skip : describe)(`the web UI in Chromium, berth serve on the s3 driver (${skipReason ? 'skipped' : describeS3Server()})`, () => {
  defineUiBrowserSuite({ driver: 's3', storage: async () => ({ s3: s3TestParameters('ui-e2e')! }) });
});
