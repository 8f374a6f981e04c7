import { makeTempDir } from './helpers/processes';
import { defineSkopeoSuite } from './helpers/skopeo-suite';

describe('berth serve on the filesystem driver, with skopeo', () => {
  defineSkopeoSuite({
    storage: async () => ({ filesystem: { rootdirectory: await makeTempDir('fs-root') } }),
    checkDeleteDisabled: true,
  });
});
