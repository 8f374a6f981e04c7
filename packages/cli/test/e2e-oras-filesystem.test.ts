import { orasClientSkipReason } from './helpers/oras-client';
import { defineOrasSuite } from './helpers/oras-suite';
import { makeTempDir } from './helpers/processes';

const skipReason = orasClientSkipReason();
if (skipReason && process.env.CI) {
  // .ci/run installs golang-go and golang-oras-oras-go-dev: on CI a missing one is a failure, not a skip.
  throw new Error(`the oras-go client tests cannot run on CI: ${skipReason}`);
}
if (skipReason) console.warn(`SKIPPED berth serve on the filesystem driver with oras-go: ${skipReason}`);
const describeOras = skipReason ? describe.skip : describe;

describeOras('berth serve on the filesystem driver, with the oras-go client', () => {
  defineOrasSuite({ storage: async () => ({ filesystem: { rootdirectory: await makeTempDir('fs-root') } }) });
});
