import type { FileInfo, WalkFn } from '@berth/storage-driver';
import { isVisibleName, type S3Context } from './context';
import { ObjectCursor } from './listing';

/**
 * `walk` from one flat listing (no delimiter): directories are synthesised from key prefixes.
 *
 * S3 lists keys in byte order, where `a-b` and `a.b` come before `a/x`; the walk order puts the
 * directory `a` and its subtree first (siblings in order of name). Entries therefore wait in a
 * small sorted queue until no key still to come can precede them: an entry P is held back while
 * the listing's current key K shares a prefix X with P where P continues with `-` or `.` and K
 * with a character below `0` (`-`, `.`, `/`), because a later key `X/...` would come first.
 * The queue holds only such look-alike siblings, so memory does not grow with the tree.
 *
 * A directory's modification time is the newest among the keys seen below it before it is visited.
 * After 'skipdir', a directory whose keys run past the current page is skipped with one
 * `StartAfter` request instead of being listed.
 *
 * Resolves false when nothing at all is stored below `path`.
 */
export async function walkFlat(ctx: S3Context, path: string, visit: WalkFn): Promise<boolean> {
  const prefix = ctx.dirPrefix(path);
  const base = path === '/' ? '' : path;
  const cursor = new ObjectCursor(ctx, prefix);
  const queue: Entry[] = [];
  const pendingDirs = new Map<string, Entry>();
  let previousDirs: string[] = [];
  let skipping: string | undefined;
  let found = false;

  /** Visits queued entries that nothing still unlisted can precede; false once a visit said stop. */
  const drain = async (current: string | undefined): Promise<boolean> => {
    while (queue.length > 0) {
      const entry = queue[0];
      if (current !== undefined && isHeldBack(entry.rel, current)) return true;
      queue.shift();
      if (entry.isDir) pendingDirs.delete(entry.rel);
      if (skipping !== undefined) {
        if (entry.rel.startsWith(skipping + '/')) continue;
        skipping = undefined;
      }
      const info: FileInfo = { path: `${base}/${entry.rel}`, size: entry.size, modTime: entry.modTime, isDir: entry.isDir };
      const decision = await visit(info);
      if (decision === 'stop') return false;
      if (decision === 'skipdir' && entry.isDir) {
        skipping = entry.rel;
        const skippedPrefix = `${prefix}${entry.rel}/`;
        if (current !== undefined && current.startsWith(entry.rel + '/') && cursor.pageEndsWithin(skippedPrefix)) {
          // Everything left in this page belongs to the skipped directory: jump past it.
          cursor.seekPast(`${skippedPrefix}\u{10FFFF}`);
        }
      }
    }
    return true;
  };

  for (;;) {
    const object = await cursor.next();
    if (object === undefined) break;
    found = true;
    const rel = object.key.slice(prefix.length);
    const segments = rel.split('/');
    if (!segments.every(isVisibleName)) continue;
    if (skipping !== undefined && rel.startsWith(skipping + '/')) continue;

    const dirs: string[] = [];
    for (let i = 1; i < segments.length; i++) dirs.push(segments.slice(0, i).join('/'));
    for (const dir of dirs) {
      const pending = pendingDirs.get(dir);
      if (pending) {
        if (object.modTime > pending.modTime) pending.modTime = object.modTime;
      } else if (!previousDirs.includes(dir)) {
        const entry: Entry = { rel: dir, size: 0, modTime: object.modTime, isDir: true };
        pendingDirs.set(dir, entry);
        enqueue(queue, entry);
      }
    }
    previousDirs = dirs;
    enqueue(queue, { rel, size: object.size, modTime: object.modTime, isDir: false });
    if (!(await drain(rel))) return true;
  }
  await drain(undefined);
  return found;
}

interface Entry {
  /** The path relative to the walked directory, without a leading slash (`a/b`). */
  readonly rel: string;
  readonly size: number;
  modTime: Date;
  readonly isDir: boolean;
}

/** Walk order: `/` sorts before every character a name may hold. */
export function compareWalkOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return x - y;
  }
  return a.length - b.length;
}

function enqueue(queue: Entry[], entry: Entry): void {
  let lo = 0;
  let hi = queue.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareWalkOrder(queue[mid].rel, entry.rel) <= 0) lo = mid + 1;
    else hi = mid;
  }
  queue.splice(lo, 0, entry);
}

/**
 * True while a key still to come after `current` (S3 byte order) could precede `rel` in walk order:
 * `rel` = X + ('-' | '.') + …, `current` = X + c + … with c < '0', so `X/…` may still be listed.
 */
export function isHeldBack(rel: string, current: string): boolean {
  for (let i = 0; i < rel.length; i++) {
    const c = rel.charCodeAt(i);
    if (c !== 0x2d && c !== 0x2e) continue;
    if (current.length > i && current.charCodeAt(i) < 0x30 && current.startsWith(rel.slice(0, i))) return true;
  }
  return false;
}
