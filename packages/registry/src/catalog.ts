import { mapLimit } from './concurrency';
import { compareLexically } from './pagination';
import { pathFor } from './paths';
import { isNotFound, type Storage } from './storage';

const LIST_CONCURRENCY = 8;

/**
 * How many entries (repository directories and their `_` directories, about four per repository) a
 * flat walk of the repository tree may visit before the catalog lists directory by directory
 * instead. Measured on Ceph RGW (2026-12-06): a registry of 10 repositories is one request flat
 * against 12 by directory (catalog 6.0× distribution's rate), but for 1,000 repositories the flat
 * walk pages through every link below them (26 pages of 1,000 keys: 0.5×) while the listings by
 * directory, 8 at once, read only names (1,003 small requests: 1.05×). So the walk gives up within
 * its first page or two, once it has seen about 25 repositories.
 */
const FLAT_WALK_MAX_ENTRIES = 100;

/**
 * Every repository name in storage, sorted. A repository is a directory under `repositories/` that
 * holds `_manifests`; names nest (`a/b/c`), and directories starting with `_` are never descended
 * into (no name component can start with `_`). Never a look at link files: one `list` per
 * directory of the name tree, `LIST_CONCURRENCY` at once. On a driver whose `walk` is one flat
 * listing (S3), a small tree is walked flat first, every `_` directory skipped: a few requests for
 * the whole tree instead of one per directory, until the walk has visited `FLAT_WALK_MAX_ENTRIES`.
 */
export async function listRepositories(storage: Storage): Promise<string[]> {
  const found = (storage.driver.walksFlat && (await walkRepositories(storage))) || (await listRepositoryTree(storage));
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

/** The repositories from one flat walk, or undefined when the tree is larger than the walk may visit. */
async function walkRepositories(storage: Storage): Promise<string[] | undefined> {
  const root = pathFor({ kind: 'repositories' });
  const found: string[] = [];
  let visited = 0;
  try {
    await storage.driver.walk(root, (info) => {
      if (++visited > FLAT_WALK_MAX_ENTRIES) return 'stop';
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
  return visited > FLAT_WALK_MAX_ENTRIES ? undefined : found;
}
