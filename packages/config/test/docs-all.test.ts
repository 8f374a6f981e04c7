import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, loadConfig } from '@berth/config';
import { AUTH_SCHEMES, ROOT, STORAGE_META } from '../src/schema';
import { REPO_ROOT, loadAsImage, parseCompose, registryVariables, serviceEnvironment } from './compose-support';
import { MINIMAL } from './helpers';
import { realDrivers } from './real-drivers';

/**
 * Every example in the documentation (docs/*.md and README.md) is run through the real loader with
 * the real inmemory, filesystem and s3 drivers, so that a registry:2 user who copies one gets a
 * configuration Berth accepts. Code blocks, by info string:
 *
 * - ```yaml           a whole config.yml: loads as it is;
 * - ```yaml fragment  part of one: loads with `version: 0.1` added when it lacks one, and the
 *                     inmemory driver when it has no storage driver (no `storage`, or only
 *                     `storage.delete`, `storage.maintenance`…);
 * - ```yaml compose   a Compose file: each service's REGISTRY_* variables load over the image's
 *                     config.yml (scripts/image/config.yml) and none is ignored as unknown (the
 *                     variables it interpolates are set to example values);
 * - ```yaml skip      not a Berth configuration (Kubernetes, Prometheus, an annotated listing):
 *                     only parsed as YAML;
 * - ```sh (also bash, shell, console) REGISTRY_NAME=value assignments: each run of consecutive lines
 *                     that assign REGISTRY_* variables loads over the image's config.yml, none
 *                     ignored as unknown; ```sh skip is left out.
 *
 * Besides, every REGISTRY_* name the pages mention must address a key Berth knows. Files a
 * configuration names (certificates, htpasswd, token bundles) need not exist: the loader does not
 * read them (`berth serve` and `berth config check` do).
 */

const DOCS = join(REPO_ROOT, 'docs');
const PAGES = [...readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => join(DOCS, f)), join(REPO_ROOT, 'README.md')];

const YAML_KINDS = ['yaml', 'yaml fragment', 'yaml compose', 'yaml skip'];
const SHELL_LANGUAGES = ['sh', 'bash', 'shell', 'console'];

/** Names the pages mention that are not configuration keys on purpose. */
const NOT_KEYS = [/^REGISTRY_CONFIGURATION_PATH$/, /^REGISTRY_HTTP_ADRR$/ /* configuration.md's example of a typo */, /^REGISTRY_TEST_/];

interface Block {
  readonly page: string;
  readonly line: number;
  readonly info: string;
  readonly text: string;
}

/** Fenced code blocks (``` or ~~~, possibly indented inside a list item), with their info strings. */
function codeBlocks(page: string, markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    for (; j < lines.length && !close.test(lines[j] as string); j++) body.push((lines[j] as string).slice(indent.length));
    blocks.push({ page, line: i + 1, info: info.trim().replace(/\s+/g, ' '), text: `${body.join('\n')}\n` });
    i = j;
  }
  return blocks;
}

const blocks = PAGES.flatMap((path) => codeBlocks(relative(REPO_ROOT, path), readFileSync(path, 'utf8')));
const language = (b: Block): string => b.info.split(' ')[0] ?? '';
const yamlBlocks = blocks.filter((b) => ['yaml', 'yml'].includes(language(b)));
const shellBlocks = blocks.filter((b) => SHELL_LANGUAGES.includes(language(b)) && !/ skip$/.test(b.info));
const label = (b: Block): string => `${b.page}:${b.line} (${b.info})`;

const load = (yamlText: string, env: NodeJS.ProcessEnv = {}) => loadConfig({ yamlText, env, drivers: realDrivers() });

/**
 * A block as a whole config.yml: a fragment gets `version: 0.1` when it has none, and the inmemory
 * driver when it has no storage section or one without a driver (only `delete`, `maintenance`…).
 */
function asDocument(block: Pick<Block, 'info' | 'text'>): string {
  if (block.info === 'yaml') return block.text;
  const version = /^version:/m.test(block.text) ? '' : 'version: 0.1\n';
  const storage = (parse(block.text) as { storage?: unknown } | null)?.storage;
  if (storage === undefined) return `${version}storage:\n  inmemory:\n${block.text}`;
  const hasDriver = typeof storage === 'string' || (typeof storage === 'object' && storage !== null && Object.keys(storage).some((k) => !(k in STORAGE_META)));
  if (hasDriver) return `${version}${block.text}`;
  // Insert the driver as the storage section's first key, indented like the keys below it.
  const withDriver = block.text.replace(/^storage:[ \t]*\n([ \t]+)/m, (_m, indent: string) => `storage:\n${indent}inmemory:\n${indent}`);
  return `${version}${withDriver}`;
}

/** Warnings of variables the loader did not recognise. */
const unrecognized = (warnings: readonly string[]): string[] => warnings.filter((w) => w.includes('unrecognized environment variable'));

/**
 * Runs of consecutive (logical) lines that assign REGISTRY_* variables, each as an environment:
 * `REGISTRY_A=1`, `export REGISTRY_A=1`, `-e REGISTRY_A=1`, `--env REGISTRY_A=1`, quoted or not.
 */
function assignmentGroups(script: string): Record<string, string>[] {
  const logical = script.replace(/\\\n/g, ' ').split('\n');
  const groups: Record<string, string>[] = [];
  let current: Record<string, string> | undefined;
  for (const line of logical) {
    const found = [...line.matchAll(/(?:^|[\s=])(REGISTRY_[A-Za-z0-9_-]+)=('[^']*'|"[^"]*"|[^\s'"]*)/g)];
    if (found.length === 0) {
      current = undefined;
      continue;
    }
    if (!current) groups.push((current = {}));
    for (const [, name, raw] of found) current[name as string] = (raw as string).replace(/^(['"])(.*)\1$/, '$2');
  }
  return groups;
}

describe('the documentation code blocks', () => {
  it('are found in every page, with the yaml examples of configuration.md and security.md among them', () => {
    expect(PAGES.length).toBeGreaterThanOrEqual(10);
    expect(yamlBlocks.filter((b) => b.page === 'docs/configuration.md').length).toBeGreaterThanOrEqual(8);
    expect(yamlBlocks.filter((b) => b.page === 'docs/security.md').length).toBeGreaterThanOrEqual(5);
  });

  it.each(yamlBlocks.map((b) => [label(b), b] as const))('%s has a known info string', (_label, block) => {
    expect(YAML_KINDS).toContain(block.info);
  });
});

// Plain loops rather than describe.each: a kind of block may not occur in the pages at all.
for (const block of yamlBlocks.filter((b) => b.info === 'yaml' || b.info === 'yaml fragment')) {
  describe(label(block), () => {
    it('loads through loadConfig with the real drivers', () => {
      expect(() => load(asDocument(block))).not.toThrow();
    });
  });
}

for (const block of yamlBlocks.filter((b) => b.info === 'yaml compose')) {
  describe(label(block), () => {
    it("loads each service's REGISTRY_* variables over the image's config.yml, none unrecognized", () => {
      const compose = parseCompose(block.text);
      // The reader sets every variable the block interpolates (`${REGISTRY_HTTP_SECRET:?…}`).
      const vars = Object.fromEntries([...block.text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map(([, name]) => [name, `example-${name}`]));
      const envs = Object.entries(compose.services).map(([name, s]) => [name, serviceEnvironment(s, vars)] as const);
      const withRegistry = envs.filter(([, env]) => Object.keys(registryVariables(env)).length > 0);
      expect(withRegistry.length).toBeGreaterThan(0);
      for (const [name, env] of withRegistry) {
        expect({ service: name, unrecognized: unrecognized(loadAsImage(env).warnings) }).toEqual({ service: name, unrecognized: [] });
      }
    });
  });
}

for (const block of yamlBlocks.filter((b) => b.info === 'yaml skip')) {
  describe(label(block), () => {
    it('is valid YAML', () => {
      expect(() => parse(block.text)).not.toThrow();
    });
  });
}

for (const block of shellBlocks) {
  assignmentGroups(block.text).forEach((env, i) => {
    describe(`${label(block)} #${i + 1}`, () => {
      it("loads its REGISTRY_* assignments over the image's config.yml, none unrecognized", () => {
        expect(unrecognized(loadAsImage(env).warnings)).toEqual([]);
      });
    });
  });
}

describe('REGISTRY_* names in the documentation', () => {
  it.each(PAGES.map((p) => [relative(REPO_ROOT, p), p] as const))('%s mentions only names that address a real key', (_page, path) => {
    const text = readFileSync(path, 'utf8');
    const mentioned = [...new Set(text.match(/REGISTRY_[A-Z0-9_]*[A-Z0-9]/g) ?? [])].filter((n) => !NOT_KEYS.some((re) => re.test(n)));
    const unknown = mentioned.filter((name) => {
      let warnings: readonly string[] = [];
      try {
        warnings = load(MINIMAL, { [name]: 'x' }).warnings;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
      }
      return unrecognized(warnings).length > 0;
    });
    expect(unknown).toEqual([]);
  });
});

describe('docs/migrating.md', () => {
  /**
   * A registry:2 user looks up each key of their file: every top-level key of distribution's
   * configuration (v2.8 and v3) must be in the key-by-key table, and, for the sections Berth acts
   * on, every key below it (storage's drivers and meta sections, auth's schemes).
   */
  it('names every section and second-level key of the configuration', () => {
    const text = readFileSync(join(DOCS, 'migrating.md'), 'utf8');
    const wanted: string[] = [];
    for (const [name, field] of Object.entries(ROOT.fields)) {
      wanted.push(name);
      if (field.ignored) continue;
      const shape = field.shape;
      if (shape.kind === 'struct') wanted.push(...Object.keys(shape.fields).map((child) => `${name}.${child}`));
      if (shape.kind === 'selector') wanted.push(...Object.keys(shape.known).map((child) => `${name}.${child}`));
    }
    wanted.push(...realDrivers().names().map((driver) => `storage.${driver}`), 'storage.azure', 'storage.gcs', 'storage.swift', 'storage.oss');
    expect(Object.keys(AUTH_SCHEMES).every((scheme) => wanted.includes(`auth.${scheme}`))).toBe(true);
    expect(wanted.filter((key) => !text.includes(`\`${key}`))).toEqual([]);
  });
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = (heading[1] as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('links between the documentation pages', () => {
  it.each(PAGES.map((p) => [relative(REPO_ROOT, p), p] as const))('%s links only to files and headings that exist', (_page, path) => {
    const text = readFileSync(path, 'utf8').replace(/^\s*(```|~~~)[\s\S]*?^\s*\1\s*$/gm, '');
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target as string)) continue; // https:, mailto:
      const [file, fragment] = (target as string).split('#') as [string, string | undefined];
      const resolved = file === '' ? path : join(path, '..', file);
      let content: string | undefined;
      try {
        content = readFileSync(resolved, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EISDIR') content = '';
        else {
          broken.push(target as string);
          continue;
        }
      }
      if (fragment !== undefined && resolved.endsWith('.md') && !anchors(content).has(fragment)) broken.push(target as string);
    }
    expect(broken).toEqual([]);
  });

  it('computes anchors as GitHub does', () => {
    expect([...anchors('# docker run, as with registry:2\n## Your config.yml, key by key\n## `storage`\n## Usage\n## Usage\n')]).toEqual([
      'docker-run-as-with-registry2',
      'your-configyml-key-by-key',
      'storage',
      'usage',
      'usage-1',
    ]);
  });
});

describe('the block readers of this test', () => {
  it('finds indented and tilde fences with their info strings', () => {
    const found = codeBlocks('x.md', '1. item\n\n   ```yaml fragment\n   log:\n     level: debug\n   ```\n\n~~~sh\nREGISTRY_LOG_LEVEL=debug\n~~~\n');
    expect(found).toEqual([
      { page: 'x.md', line: 3, info: 'yaml fragment', text: 'log:\n  level: debug\n' },
      { page: 'x.md', line: 8, info: 'sh', text: 'REGISTRY_LOG_LEVEL=debug\n' },
    ]);
  });

  it('groups consecutive assignment lines, joins continued lines and unquotes values', () => {
    const script = [
      'REGISTRY_STORAGE=s3',
      'export REGISTRY_STORAGE_S3_BUCKET="my bucket"',
      '',
      "docker run -e REGISTRY_HTTP_SECRET='a b' \\",
      '  --env REGISTRY_LOG_LEVEL=debug berth',
      'curl localhost:5000/v2/',
    ].join('\n');
    expect(assignmentGroups(script)).toEqual([
      { REGISTRY_STORAGE: 's3', REGISTRY_STORAGE_S3_BUCKET: 'my bucket' },
      { REGISTRY_HTTP_SECRET: 'a b', REGISTRY_LOG_LEVEL: 'debug' },
    ]);
  });

  it('completes a fragment with version and a driver, keeping its own storage sections', () => {
    const fragment = (text: string): Record<string, unknown> => parse(asDocument({ info: 'yaml fragment', text })) as Record<string, unknown>;
    expect(fragment('log:\n  level: debug\n')).toEqual({ version: 0.1, storage: { inmemory: null }, log: { level: 'debug' } });
    expect(fragment('storage:\n    delete:\n      enabled: true\n')).toEqual({ version: 0.1, storage: { inmemory: null, delete: { enabled: true } } });
    expect(fragment('version: 0.1\nstorage:\n  s3:\n    bucket: b\n')).toEqual({ version: 0.1, storage: { s3: { bucket: 'b' } } });
  });

  it('fails a group with a misspelt variable', () => {
    expect(unrecognized(loadAsImage({ REGISTRY_STORAGE_DELETE_ENABLE: 'true' }).warnings)).toHaveLength(1);
  });
});
