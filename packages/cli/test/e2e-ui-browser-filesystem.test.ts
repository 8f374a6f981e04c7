import { makeTempDir } from './helpers/processes';
import { browserSkipReason, defineUiBrowserSuite } from './helpers/ui-browser-suite';

const skipReason = browserSkipReason();
if (skipReason) console.warn(`SKIPPED the web UI in Chromium on the filesystem driver: ${skipReason}`);

(skipReason ? describe.skip : describe)('the web UI in Chromium, berth serve on the filesystem driver', () => {
  defineUiBrowserSuite({ driver: 'filesystem', storage: async () => ({ filesystem: { rootdirectory: await makeTempDir('ui-fs-root') } }) });
});
