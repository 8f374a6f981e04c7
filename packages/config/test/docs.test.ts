import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '@berth/config';
import { AUTH_SCHEMES, ROOT, STORAGE_META } from '../src/schema';
import type { Shape, StructShape } from '../src/shape';
import { loadConfig } from '@berth/config';
import { MINIMAL } from './helpers';
import { realDrivers } from './real-drivers';

/**
 * docs/configuration.md is checked against the loader: every ```yaml block loads (a block with the
 * info string `yaml fragment` gets `version: 0.1` and `storage: inmemory` added when it lacks them;
 * `yaml skip` blocks are not loaded), every key Berth acts on has its REGISTRY_* name documented,
 * and every REGISTRY_* name the page mentions addresses a real key.
 */
const DOC = readFileSync(resolve(__dirname, '../../../docs/configuration.md'), 'utf8');

interface Block {
  readonly line: number;
  readonly info: string;
  readonly text: string;
}

function yamlBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(yaml.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const indent = (open[1] as string).length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] as string); j++) body.push((lines[j] as string).slice(indent));
    blocks.push({ line: i + 1, info: (open[2] as string).trim(), text: `${body.join('\n')}\n` });
    i = j;
  }
  return blocks;
}

function asDocument(block: Block): string {
  if (block.info === 'yaml') return block.text;
  const version = /^version:/m.test(block.text) ? '' : 'version: 0.1\n';
  const storage = /^storage:/m.test(block.text) ? '' : 'storage:\n  inmemory:\n';
  return `${version}${storage}${block.text}`;
}

const blocks = yamlBlocks(DOC);
const drivers = realDrivers();
const load = (yamlText: string, env: NodeJS.ProcessEnv = {}) => loadConfig({ yamlText, env, drivers });

describe('docs/configuration.md', () => {
  it('has yaml examples, each marked as a whole file, a fragment or skipped', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    for (const block of blocks) expect(['yaml', 'yaml fragment', 'yaml skip']).toContain(block.info);
  });

  it.each(blocks.filter((b) => b.info !== 'yaml skip').map((b) => [b.line, b] as const))('the yaml block at line %i loads', (_line, block) => {
    expect(() => load(asDocument(block))).not.toThrow();
  });

  it('documents the REGISTRY_* name of every key Berth reads', () => {
    const missing = envNames().filter((name) => !DOC.includes(name));
    expect(missing).toEqual([]);
  });

  it('mentions only REGISTRY_* names that address a real key', () => {
    // REGISTRY_HTTP_ADRR is the page's example of a mistyped name.
    const mentioned = [...new Set(DOC.match(/REGISTRY_[A-Z0-9_]*[A-Z0-9]/g) ?? [])].filter(
      (n) => n !== 'REGISTRY_CONFIGURATION_PATH' && n !== 'REGISTRY_HTTP_ADRR',
    );
    expect(mentioned.length).toBeGreaterThan(40);
    const unknown = mentioned.filter((name) => {
      let warnings: readonly string[] = [];
      try {
        warnings = load(MINIMAL, { [name]: 'x' }).warnings;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
      }
      return warnings.some((w) => w.startsWith(`ignoring unrecognized environment variable ${name} `));
    });
    expect(unknown).toEqual([]);
  });
});

/** REGISTRY_* names of the keys Berth acts on (ignored keys excluded; list indices as `<i>`). */
function envNames(): string[] {
  const out: string[] = [];
  const walk = (shape: Shape, prefix: string): void => {
    if (shape.kind === 'struct') {
      for (const [name, field] of Object.entries(shape.fields)) {
        if (field.ignored || field.shape.kind === 'selector') continue;
        walk(field.shape, `${prefix}_${name.toUpperCase()}`);
      }
    } else if (shape.kind === 'list' && shape.elem.kind === 'struct') {
      walk(shape.elem, `${prefix}_<i>`);
    } else {
      out.push(prefix);
    }
  };
  walk(ROOT, 'REGISTRY');
  const sections = (known: Readonly<Record<string, StructShape>>, prefix: string): void => {
    for (const [name, shape] of Object.entries(known)) walk(shape, `${prefix}_${name.toUpperCase()}`);
  };
  sections(STORAGE_META, 'REGISTRY_STORAGE');
  sections(AUTH_SCHEMES, 'REGISTRY_AUTH');
  return out;
}
