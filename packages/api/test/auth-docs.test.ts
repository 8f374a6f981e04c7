import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '@berth/config';
import { inmemoryDriverFactory } from '@berth/driver-inmemory';
import { DriverFactories } from '@berth/storage-driver';

/** docs/security.md: every yaml example loads as a fragment of config.yml (version and storage added). */

const DOC = readFileSync(resolve(__dirname, '../../../docs/security.md'), 'utf8');
const blocks = [...DOC.matchAll(/^```yaml fragment\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);

describe('docs/security.md', () => {
  it('has the yaml examples of TLS, htpasswd, token, anonymous pull and CORS', () => {
    expect(blocks).toHaveLength(5);
  });

  it.each(blocks.map((text, i) => [i + 1, text] as const))('yaml example %i loads', (_n, text) => {
    const config = loadConfig({ yamlText: `version: 0.1\nstorage:\n  inmemory:\n${text}`, env: {}, drivers: new DriverFactories([inmemoryDriverFactory]) });
    expect(config.warnings).toEqual(expect.not.arrayContaining([expect.stringMatching(/unknown|ignored/i)]));
  });
});
