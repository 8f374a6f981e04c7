'use strict';
// What scripts/check-dependencies.js and scripts/check-layers.js both read: the source files under
// a folder and the module specifiers each imports. No dependency of its own.
const fs = require('node:fs');
const path = require('node:path');

const SOURCE = /\.(ts|js|mjs|cjs)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', '.git', '.rgw', '.node24', 'tmp', 'data']);
/** `from '…'`, `import '…'`, `import('…')`, `require('…')`. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"\n]+)['"]/g;

/** The .ts/.js/.mjs/.cjs files below `dir` (not .d.ts, not in build or dependency folders); [] when it does not exist. */
function sourceFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) out.push(...sourceFiles(full));
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      out.push(full);
    }
  }
  return out;
}

/** The specifiers `file` imports, comments left out. */
function importSpecifiers(file) {
  const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...text.matchAll(IMPORT)].map((m) => m[1]);
}

module.exports = { SOURCE, sourceFiles, importSpecifiers };
