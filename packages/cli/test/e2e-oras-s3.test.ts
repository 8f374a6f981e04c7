import { describeS3Server, s3SkipReason, s3TestParameters } from '../../../test-support/s3';
import { orasClientSkipReason } from './helpers/oras-client';
import { defineOrasSuite } from './helpers/oras-suite';

const orasSkipReason = orasClientSkipReason();
if (orasSkipReason && process.env.CI) {
  // .ci/run installs golang-go and golang-oras-oras-go-dev: on CI a missing one is a failure, not a skip.
  throw new Error(`the oras-go client tests cannot run on CI: ${orasSkipReason}`);
}
const skipReason = orasSkipReason ?? s3SkipReason();
if (skipReason) console.warn(`SKIPPED berth serve on S3 with oras-go: ${skipReason}`);
const describeOras = skipReason ? describe.skip : describe;

describeOras(`berth serve on the s3 driver, with the oras-go client (${skipReason ? 'skipped' : describeS3Server()})`, () => {
  defineOrasSuite({ storage: async () => ({ s3: s3TestParameters('cli-oras')! }) });
});
