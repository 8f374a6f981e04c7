import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/**
 * The files of a registry storage tree (`<root>/docker/registry/v2`), as relative paths, with the
 * content of every `link` file and the digest of every blob's `data`. Upload sessions
 * (`_uploads/…`, which hold start times and hash states) are left out.
 */
export async function describeStorageTree(rootDirectory: string): Promise<Map<string, string>> {
  const base = join(rootDirectory, 'docker', 'registry', 'v2');
  const files = new Map<string, string>();
  async function visit(dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '_uploads') await visit(path);
        continue;
      }
      const rel = relative(base, path).split(sep).join('/');
      files.set(rel, entry.name === 'data' ? await fileDigest(path) : await readFile(path, 'utf8'));
    }
  }
  await visit(base);
  return new Map([...files.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
