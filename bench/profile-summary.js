'use strict';
// Summarises a V8 CPU profile (`node --cpu-prof`, e.g. `npm run bench -- --profile DIR`): the
// functions with the most self time, and self time by where the code lives (Berth's packages,
// each dependency, node internals, native/GC).
// Usage: node bench/profile-summary.js FILE.cpuprofile [--top N] [--results RESULTS.json --row ID]
// With --results and --row, only the samples taken during the timed measurements of that row on
// Berth count (the windows run.js records; seeding and warm-up pushes are left out).
const { readFileSync } = require('node:fs');
const { relative, resolve } = require('node:path');

const REPO_ROOT = resolve(__dirname, '..');

/** Where a function's code lives: a Berth package, a dependency, node itself, or V8 (GC, native). */
function area(url, name) {
  if (!url) return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.replace(/^file:\/\//, '');
  const deps = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/g);
  if (deps) return deps[deps.length - 1].replace('node_modules/', '');
  const pkg = path.match(/packages\/([^/]+)\//);
  if (pkg) return `@berth/${pkg[1]}`;
  return relative(REPO_ROOT, path);
}

/** Windows `[startMicros, endMicros]` of the Berth measurements of row `row` in a results file. */
function windowsOf(resultsPath, row) {
  const { measurements = [] } = JSON.parse(readFileSync(resultsPath, 'utf8'));
  const windows = measurements.filter((m) => m.label === `${row} berth` && m.endMicros).map((m) => [m.startMicros, m.endMicros]);
  if (windows.length === 0) throw new Error(`${resultsPath} has no finished measurement of ${row} on berth`);
  return windows;
}

function summarise(profile, top, windows) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (windows && !windows.some(([start, end]) => at >= start && at <= end)) continue;
    const id = profile.samples[i];
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);
  const functions = new Map();
  const areas = new Map();
  for (const [id, micros] of selfMicros) {
    const { callFrame } = byId.get(id);
    const name = callFrame.functionName || '(anonymous)';
    const where = callFrame.url ? `${relative(REPO_ROOT, callFrame.url.replace(/^file:\/\//, ''))}:${callFrame.lineNumber + 1}` : '';
    const key = `${name} ${where}`.trim();
    functions.set(key, (functions.get(key) ?? 0) + micros);
    const a = area(callFrame.url, name);
    areas.set(a, (areas.get(a) ?? 0) + micros);
  }
  const rows = (map, n) =>
    [...map.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, n)
      .map(([key, micros]) => `${(micros / 1000).toFixed(0).padStart(8)} ms ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${key}`);
  const idle = areas.get('(idle)') ?? 0;
  return [
    `profile: ${(total / 1e6).toFixed(1)} s sampled, ${(((total - idle) / 1e6)).toFixed(1)} s not idle`,
    '',
    'self time by area:',
    ...rows(areas, 15),
    '',
    `top ${top} functions by self time:`,
    ...rows(functions, top),
  ].join('\n');
}

function main() {
  const args = process.argv.slice(2);
  const file = args[0];
  const value = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const top = Number(value('--top') ?? 25);
  const results = value('--results');
  const row = value('--row');
  if (!file || Boolean(results) !== Boolean(row)) {
    console.error('usage: node bench/profile-summary.js FILE.cpuprofile [--top N] [--results RESULTS.json --row ID]');
    process.exitCode = 2;
    return;
  }
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')), top, results ? windowsOf(results, row) : undefined));
}

main();
