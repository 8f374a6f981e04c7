import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

// scripts/check-layers.js is plain node (the lint step runs it too).
const { checkLayers } = require('../../../scripts/check-layers.js') as { checkLayers(root?: string): string[] };

const ROOT = resolve(__dirname, '../../..');

/** Writes `files` (path → content) under a new temporary directory. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'berth-layers-'));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

const manifest = (name: string, dependencies: Record<string, string> = {}) => JSON.stringify({ name: `@berth/${name}`, dependencies });

describe('the package layers (scripts/check-layers.js)', () => {
  it('hold in this repository: each package imports only the layers README.md allows it, and no package has an import cycle', () => {
    expect(checkLayers(ROOT)).toEqual([]);
  });

  it('reports a package importing a layer above it, in its source and in its package.json', async () => {
    const root = await tree({
      'packages/registry/package.json': manifest('registry', { '@berth/api': '0.1.0' }),
      'packages/registry/src/index.ts': "import type { AppOptions } from '@berth/api';\nexport type X = AppOptions;\n",
      'packages/api/package.json': manifest('api', { '@berth/registry': '0.1.0' }),
      'packages/api/src/index.ts': "import { Registry } from '@berth/registry';\nexport { Registry };\n",
    });
    try {
      expect(checkLayers(root)).toEqual([
        'packages/registry/package.json: depends on @berth/api, a layer it may not use',
        'packages/registry/src/index.ts: imports @berth/api, a layer it may not use',
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("reports a README.md Layout that does not list what the check allows", async () => {
    const root = await tree({
      'README.md': '# x\n\n## Layout\n\n```\napi               → registry, logging\nregistry          → storage-driver, logging, api\n```\n\n## Next\n\nproxy → anything\n',
      'packages/api/package.json': manifest('api'),
      'packages/api/src/index.ts': 'export {};\n',
    });
    try {
      const problems = checkLayers(root);
      expect(problems).toContain('README.md: the Layout says registry → ["api","logging","storage-driver"], scripts/check-layers.js allows ["logging","storage-driver"]');
      expect(problems).toContain('README.md: the Layout says proxy → (no line), scripts/check-layers.js allows ["logging","registry","storage-driver"]');
      expect(problems.filter((p) => p.startsWith('README.md: the Layout says api '))).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reports an import cycle inside a package, type-only imports included', async () => {
    const root = await tree({
      'packages/api/package.json': manifest('api'),
      'packages/api/src/context.ts': "import type { Options } from './options';\nexport interface Context { options: Options }\n",
      'packages/api/src/options.ts': "import type { Listener } from './events';\nexport interface Options { events: Listener }\n",
      'packages/api/src/events.ts': "import type { Context } from './context';\nexport interface Listener { on(ctx: Context): void }\n",
      'packages/api/src/leaf.ts': "import type { Context } from './context';\nexport type Leaf = Context;\n",
    });
    try {
      expect(checkLayers(root)).toEqual(['packages/api/src: import cycle of 3 files: context.ts → options.ts → events.ts → context.ts']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
