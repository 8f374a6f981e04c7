#!/usr/bin/env node
// Fails when a package.json declares a dependency nothing uses (`npm run lint` and .ci/run run it).
//
// A workspace package (packages/*):
//   dependencies     must be imported by its src/ (or bin/);
//   devDependencies  must be imported by its src/ or test/.
//   A dependency only its tests import is reported too: it belongs in devDependencies.
// The root package (tools for the whole checkout): each must be imported by a source file anywhere
// in the checkout, be named as a quoted string in a root config file (jest.config.ts's 'ts-jest'),
// provide a command that the scripts, .ci/run or scripts/ run (typescript's tsc), be the @types
// package of something used or listed in tsconfig.test.json's "types", or be in IMPLICIT below.
//
// Imports are found with a regular expression over .ts/.js/.mjs/.cjs files: `from '…'`,
// `import '…'`, `import('…')`, `require('…')`, comments left out (scripts/lib/imports.js, shared with
// check-layers.js). No dependency of its own.
//   usage: node scripts/check-dependencies.js [ROOT]   (exit status 1 and one line per finding)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { SOURCE, importSpecifiers, sourceFiles } = require('./lib/imports');

/** Root tools used without an import, a quoted name or a command; each with the reason. */
const IMPLICIT = {
  'ts-node': 'jest reads jest.config.ts through it',
  'jest-util': 'ts-jest needs it at the top level with jest 29 (commit 600ae66)',
};

const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The package names a specifier imports: '@scope/name/sub' -> '@scope/name', 'name/sub' -> 'name'. */
function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function importsOf(files) {
  const found = new Set();
  for (const file of files) {
    for (const specifier of importSpecifiers(file)) {
      const name = packageOf(specifier);
      if (name) found.add(name);
    }
  }
  return found;
}

const problems = [];
const rootManifest = readJson(path.join(root, 'package.json'));
const workspaces = fs
  .readdirSync(path.join(root, 'packages'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && fs.existsSync(path.join(root, 'packages', e.name, 'package.json')))
  .map((e) => path.join(root, 'packages', e.name));

for (const dir of workspaces) {
  const manifest = readJson(path.join(dir, 'package.json'));
  const where = path.relative(root, path.join(dir, 'package.json'));
  const runtime = importsOf([...sourceFiles(path.join(dir, 'src')), ...sourceFiles(path.join(dir, 'bin'))]);
  const tests = importsOf(sourceFiles(path.join(dir, 'test')));
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    if (runtime.has(dep)) continue;
    problems.push(
      tests.has(dep)
        ? `${where}: dependency ${dep} is imported only by test/: move it to devDependencies`
        : `${where}: dependency ${dep} is imported by nothing in src/ or bin/`,
    );
  }
  for (const dep of Object.keys(manifest.devDependencies ?? {})) {
    if (!runtime.has(dep) && !tests.has(dep)) problems.push(`${where}: devDependency ${dep} is imported by nothing in src/ or test/`);
  }
}

// The root package.
const everything = importsOf(sourceFiles(root));
const configText = fs
  .readdirSync(root)
  .filter((name) => /\.config\.(ts|js|mjs|cjs)$/.test(name))
  .map((name) => fs.readFileSync(path.join(root, name), 'utf8'))
  .join('\n');
const shellText = [
  ...Object.values(rootManifest.scripts ?? {}),
  ...[path.join(root, '.ci', 'run'), ...fs.readdirSync(path.join(root, 'scripts'), { recursive: true }).map((f) => path.join(root, 'scripts', String(f)))]
    .filter((f) => fs.existsSync(f) && fs.statSync(f).isFile() && !SOURCE.test(f))
    .map((f) => fs.readFileSync(f, 'utf8')),
].join('\n');
let tsTypes = [];
try {
  tsTypes = readJson(path.join(root, 'tsconfig.test.json')).compilerOptions?.types ?? [];
} catch {
  // no test tsconfig: no "types" list
}

function commandsOf(dep) {
  try {
    const bin = readJson(path.join(root, 'node_modules', dep, 'package.json')).bin;
    if (!bin) return [];
    return typeof bin === 'string' ? [dep.split('/').pop()] : Object.keys(bin);
  } catch {
    return [];
  }
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const allWorkspaceDeps = new Set(workspaces.flatMap((dir) => {
  const m = readJson(path.join(dir, 'package.json'));
  return [...Object.keys(m.dependencies ?? {}), ...Object.keys(m.devDependencies ?? {})];
}));

for (const dep of [...Object.keys(rootManifest.dependencies ?? {}), ...Object.keys(rootManifest.devDependencies ?? {})]) {
  if (everything.has(dep) || IMPLICIT[dep]) continue;
  if (new RegExp(`['"]${escape(dep)}['"]`).test(configText)) continue;
  if (commandsOf(dep).some((cmd) => new RegExp(`(^|[\\s;&|(])(npx\\s+)?${escape(cmd)}(\\s|$)`, 'm').test(shellText))) continue;
  if (dep.startsWith('@types/')) {
    const typed = dep.slice('@types/'.length).replace(/^(.+)__(.+)$/, '@$1/$2');
    if (tsTypes.includes(typed) || everything.has(typed) || allWorkspaceDeps.has(typed)) continue;
  }
  problems.push(`package.json: devDependency ${dep} is used by nothing in the checkout (no import, config, command or @types target)`);
}

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`check-dependencies: ${problems.length} declared but unused`);
  process.exit(1);
}
console.log(`check-dependencies: every dependency of ${workspaces.length + 1} package.json files is used`);
