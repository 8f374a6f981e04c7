import type { StorageDriver, WalkFn } from './driver';

/**
 * `walk` built from `list` and `stat`: one listing per directory. Drivers that can enumerate a tree
 * more cheaply (a flat S3 listing) implement `walk` themselves; the visiting order is the same.
 * Resolves `true` when a callback answered 'stop'.
 */
export async function walkByList(
  driver: Pick<StorageDriver, 'list' | 'stat'>,
  path: string,
  visit: WalkFn,
): Promise<boolean> {
  for (const child of await driver.list(path)) {
    const info = await driver.stat(child);
    const decision = await visit(info);
    if (decision === 'stop') return true;
    if (info.isDir && decision !== 'skipdir') {
      if (await walkByList(driver, child, visit)) return true;
    }
  }
  return false;
}
