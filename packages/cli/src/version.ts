import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let cached: string | undefined;

/** This build's version, read at run time from packages/cli/package.json (what `berth --version` prints). */
export function berthVersion(): string {
  cached ??= (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
