import { StorageDriverError } from '@berth/storage-driver';
import type { Content } from './content';

export interface FileNode {
  readonly kind: 'file';
  readonly content: Content;
  readonly modTime: Date;
}

export interface DirNode {
  readonly kind: 'dir';
  readonly children: Map<string, TreeNode>;
  modTime: Date;
}

export type TreeNode = FileNode | DirNode;

/** Names of a valid driver path (`/a/b` → `['a', 'b']`); `/` has none. */
function segments(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

/** Code-unit order, the order every driver lists and walks in. */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The committed files of the in-memory driver as a tree. Directories are implicit, as in an object
 * store: they are created by putting a file below them and disappear with their last file, so an
 * empty directory never exists (except the root). Paths are valid driver paths (the wrapper checks).
 */
export class Tree {
  private readonly root: DirNode = { kind: 'dir', children: new Map(), modTime: new Date(0) };

  constructor(private readonly driver: string) {}

  /** The node at `path`, or undefined (also when a file stands where a directory would be). */
  lookup(path: string): TreeNode | undefined {
    let node: TreeNode = this.root;
    for (const name of segments(path)) {
      if (node.kind !== 'dir') return undefined;
      const child = node.children.get(name);
      if (!child) return undefined;
      node = child;
    }
    return node;
  }

  /** Throws unless a file could be stored at `path` (no file above it, no directory at it). */
  assertCanHoldFile(path: string): void {
    let node: TreeNode | undefined = this.root;
    let at = '';
    for (const name of segments(path)) {
      if (!node) return;
      if (node.kind === 'file') throw new StorageDriverError(this.driver, `${at} is a file, not a directory (writing ${path})`);
      at += `/${name}`;
      node = node.children.get(name);
    }
    if (node?.kind === 'dir') throw new StorageDriverError(this.driver, `${path} is a directory, not a file`);
  }

  /** Stores a file at `path`, creating its directories, replacing a file already there. */
  putFile(path: string, content: Content, modTime = new Date()): void {
    this.assertCanHoldFile(path);
    const names = segments(path);
    const fileName = names.pop() as string;
    let dir = this.root;
    dir.modTime = modTime;
    for (const name of names) {
      let child = dir.children.get(name) as DirNode | undefined;
      if (!child) {
        child = { kind: 'dir', children: new Map(), modTime };
        dir.children.set(name, child);
      }
      child.modTime = modTime;
      dir = child;
    }
    dir.children.set(fileName, { kind: 'file', content, modTime });
  }

  /** Removes the node at `path` (a file or a whole directory) and then-empty parents; false when absent. */
  remove(path: string): boolean {
    const names = segments(path);
    const chain: DirNode[] = [this.root];
    for (const name of names.slice(0, -1)) {
      const next = chain[chain.length - 1].children.get(name);
      if (!next || next.kind !== 'dir') return false;
      chain.push(next);
    }
    if (!chain[chain.length - 1].children.delete(names[names.length - 1])) return false;
    for (let i = chain.length - 1; i > 0 && chain[i].children.size === 0; i--) {
      chain[i - 1].children.delete(names[i - 1]);
    }
    return true;
  }

  /** The children of a directory node, sorted by name. */
  static sortedChildren(dir: DirNode): Array<[string, TreeNode]> {
    return [...dir.children.entries()].sort(([a], [b]) => byName(a, b));
  }
}
