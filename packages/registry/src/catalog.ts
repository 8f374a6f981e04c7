import { mapLimit } from './concurrency';
import { compareLexically } from './pagination';
import { pathFor } from './paths';
import type { Storage } from './storage';

const LIST_CONCURRENCY = 8;

/**
 * Every repository name in storage, sorted. A repository is a directory under `repositories/` that
 * holds `_manifests`; names nest (`a/b/c`), and directories starting with `_` are never descended
 * into (no name component can start with `_`). One `list` per directory of the name tree, never a
 * walk of link files.
 */
export async function listRepositories(storage: Storage): Promise<string[]> {
  const found: string[] = [];
  async function visit(dir: string, prefix: string): Promise<void> {
    const children = await storage.listNames(dir);
    if (!children) return;
    if (prefix !== '' && children.includes('_manifests')) found.push(prefix);
    const nested = children.filter((child) => !child.startsWith('_'));
    await mapLimit(nested, LIST_CONCURRENCY, (child) => visit(`${dir}/${child}`, prefix === '' ? child : `${prefix}/${child}`));
  }
  await visit(pathFor({ kind: 'repositories' }), '');
  return found.sort(compareLexically);
}
