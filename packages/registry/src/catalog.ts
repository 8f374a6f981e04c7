import { mapLimit } from './concurrency';
import { compareLexically } from './pagination';
import { pathFor } from './paths';
import { isNotFound, type Storage } from './storage';

const LIST_CONCURRENCY = 8;

/**
 * Every repository name in storage, sorted. A repository is a directory under `repositories/` that
 * holds `_manifests`; names nest (`a/b/c`), and directories starting with `_` are never descended
 * into (no name component can start with `_`). Never a look at link files: one `list` per
 * directory of the name tree, or, on a driver whose `walk` is one flat listing (S3), that walk with
 * every `_` directory skipped, a few requests for the whole tree instead of one per directory.
 */
export async function listRepositories(storage: Storage): Promise<string[]> {
  const found = storage.driver.walksFlat ? await walkRepositories(storage) : await listRepositoryTree(storage);
  return found.sort(compareLexically);
}

async function listRepositoryTree(storage: Storage): Promise<string[]> {
  const found: string[] = [];
  async function visit(dir: string, prefix: string): Promise<void> {
    const children = await storage.listNames(dir);
    if (!children) return;
    if (prefix !== '' && children.includes('_manifests')) found.push(prefix);
    const nested = children.filter((child) => !child.startsWith('_'));
    await mapLimit(nested, LIST_CONCURRENCY, (child) => visit(`${dir}/${child}`, prefix === '' ? child : `${prefix}/${child}`));
  }
  await visit(pathFor({ kind: 'repositories' }), '');
  return found;
}

async function walkRepositories(storage: Storage): Promise<string[]> {
  const root = pathFor({ kind: 'repositories' });
  const found: string[] = [];
  try {
    await storage.driver.walk(root, (info) => {
      if (!info.isDir) return undefined;
      const relative = info.path.slice(root.length + 1);
      const slash = relative.lastIndexOf('/');
      if (!relative.slice(slash + 1).startsWith('_')) return undefined;
      if (slash > 0 && relative.endsWith('/_manifests')) found.push(relative.slice(0, slash));
      return 'skipdir';
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return found;
}
