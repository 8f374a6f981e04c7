#!/usr/bin/env node
'use strict';
/**
 * Checks the package layers README.md describes (Layout), from the source imports and the
 * package.json dependencies:
 * - a package imports (and depends on) only the @berth packages LAYERS allows it;
 * - README.md's list of what each package may import (`name → a, b`) is LAYERS;
 * - the modules of a package's src/ form no import cycle (type-only imports count: a cycle of
 *   types is still a knot to untie before a module can move).
 * Prints what is wrong and exits 1; `checkLayers(root)` returns the problems (the jest test).
 *
 *   node scripts/check-layers.js [root]
 */
const fs = require('node:fs');
const path = require('node:path');
const { importSpecifiers, sourceFiles } = require('./lib/imports');

/**
 * The @berth packages each package may use. cli (the composition root) → api (HTTP) → registry
 * (services, storage layout) → storage-driver (contract) ← drivers; config, logging,
 * notifications and proxy beside them.
 */
const LAYERS = {
  logging: [],
  // The web UI's pages and scripts (browser code, no @berth import); the cli hands them to api.
  ui: [],
  'storage-driver': ['logging'],
  'driver-inmemory': ['storage-driver', 'logging'],
  'driver-filesystem': ['storage-driver', 'logging'],
  'driver-s3': ['storage-driver', 'logging'],
  registry: ['storage-driver', 'logging'],
  // The storage driver only for the expiry schedule's own file; cached content goes through the registry.
  proxy: ['registry', 'storage-driver', 'logging'],
  // Redis-backed implementations of what the registry defines (shared cache, GC lease).
  redis: ['registry', 'storage-driver', 'logging'],
  api: ['registry', 'logging'],
  notifications: ['api', 'logging'],
  config: ['storage-driver', 'logging'],
  cli: [
    'api',
    'config',
    'driver-filesystem',
    'driver-inmemory',
    'driver-s3',
    'logging',
    'notifications',
    'proxy',
    'redis',
    'registry',
    'storage-driver',
    'ui',
  ],
};

/** `./x` from `file` → the module file it names, or undefined when it is not a source file. */
function resolveLocal(file, specifier) {
  const base = path.resolve(path.dirname(file), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  return undefined;
}

/** Every import cycle of `graph` (file → files), each once, as the list of files around it. */
function cyclesOf(graph) {
  const cycles = [];
  const seen = new Set();
  const state = new Map(); // 1: on the stack, 2: done
  const stack = [];
  const visit = (node) => {
    state.set(node, 1);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 1) {
        const cycle = stack.slice(stack.indexOf(next));
        const key = [...cycle].sort().join('|');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, 2);
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

/** The `name → a, b` lines of README.md's Layout (`→ (nothing)` for none), as name → sorted list; undefined without README.md. */
function readmeLayers(root) {
  const file = path.join(root, 'README.md');
  if (!fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(file, 'utf8');
  const start = text.indexOf('\n## Layout');
  const end = start === -1 ? -1 : text.indexOf('\n## ', start + 1);
  const layout = start === -1 ? '' : text.slice(start, end === -1 ? undefined : end);
  const layers = {};
  for (const [, name, list] of layout.matchAll(/^([a-z][a-z0-9-]*) +→ (.+)$/gm)) {
    layers[name] = list.trim() === '(nothing)' ? [] : list.split(',').map((s) => s.trim()).sort();
  }
  return layers;
}

function checkReadme(root, problems) {
  const described = readmeLayers(root);
  if (!described) return;
  for (const name of new Set([...Object.keys(LAYERS), ...Object.keys(described)])) {
    const want = JSON.stringify([...(LAYERS[name] ?? [])].sort());
    const said = described[name] && JSON.stringify(described[name]);
    if (said !== want) problems.push(`README.md: the Layout says ${name} → ${said ?? '(no line)'}, scripts/check-layers.js allows ${want}`);
  }
}

function checkLayers(root = path.resolve(__dirname, '..')) {
  const problems = [];
  checkReadme(root, problems);
  const packagesDir = path.join(root, 'packages');
  for (const name of fs.readdirSync(packagesDir).sort()) {
    const src = path.join(packagesDir, name, 'src');
    if (!fs.existsSync(src)) continue;
    const allowed = LAYERS[name];
    if (!allowed) {
      problems.push(`packages/${name}: not in LAYERS of scripts/check-layers.js (give it its place in the layers)`);
      continue;
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(packagesDir, name, 'package.json'), 'utf8'));
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
      const target = dep.startsWith('@berth/') ? dep.slice('@berth/'.length) : undefined;
      if (target && !allowed.includes(target)) problems.push(`packages/${name}/package.json: depends on ${dep}, a layer it may not use`);
    }
    const graph = new Map();
    for (const file of sourceFiles(src)) {
      const rel = path.relative(root, file);
      const local = [];
      for (const specifier of importSpecifiers(file)) {
        if (specifier.startsWith('@berth/')) {
          const target = specifier.slice('@berth/'.length).split('/')[0];
          if (target !== name && !allowed.includes(target)) problems.push(`${rel}: imports ${specifier}, a layer it may not use`);
        } else if (specifier.startsWith('.')) {
          const resolved = resolveLocal(file, specifier);
          if (resolved) local.push(resolved);
        }
      }
      graph.set(file, local);
    }
    for (const cycle of cyclesOf(graph)) {
      const names = cycle.map((file) => path.relative(src, file));
      problems.push(`packages/${name}/src: import cycle of ${cycle.length} files: ${[...names, names[0]].join(' → ')}`);
    }
  }
  return problems;
}

module.exports = { checkLayers, LAYERS };

if (require.main === module) {
  const problems = checkLayers(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) process.exit(1);
  console.log('layers: every package imports only the layers below or beside it; no import cycle in any package');
}
