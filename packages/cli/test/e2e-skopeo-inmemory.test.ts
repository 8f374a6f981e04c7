import { defineSkopeoSuite } from './helpers/skopeo-suite';

describe('berth serve on the inmemory driver, with skopeo', () => {
  defineSkopeoSuite({ storage: async () => ({ inmemory: {} }) });
});
