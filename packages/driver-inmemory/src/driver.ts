import type { Readable, Writable } from 'node:stream';
import {
  PathNotFoundError,
  StorageDriverError,
  isWithin,
  joinPath,
  pipeReader,
  type FileInfo,
  type FileWriter,
  type StorageDriver,
  type WalkFn,
} from '@berth/storage-driver';
import { Content } from './content';
import { Tree, type DirNode, type FileNode, type TreeNode } from './tree';
import { InMemoryWriter, Upload, type UploadHost } from './writer';

export const DRIVER_NAME = 'inmemory';

/**
 * The reference implementation of the StorageDriver contract, holding everything in memory (so it
 * is for tests and throwaway registries). It chooses the strictest reading of each rule, the one an
 * object store imposes, so code that works against it works against every driver:
 *
 * - directories are implicit: they exist while a file lies below them (never empty, except `/`);
 * - a writer's bytes are invisible at its path until `commit` (a committed file stays readable, with
 *   its old content, while a new write to the path is under way);
 * - `writer(path, true)` resumes an unfinished write, or starts one over a committed zero-length
 *   file; over non-empty committed content (undefined by the contract) it rejects;
 * - `move` moves files only; `delete` also discards unfinished writes below the path;
 * - a file cannot sit where a directory is or below another file (`StorageDriverError`).
 *
 * Unwrapped: use `createInMemoryDriver()` or the factory, which add validation and error naming.
 */
export class InMemoryDriver implements StorageDriver, UploadHost {
  readonly name = DRIVER_NAME;
  private readonly tree = new Tree(DRIVER_NAME);
  private readonly uploads = new Map<string, Upload>();

  async getContent(path: string): Promise<Buffer> {
    return this.file(path).content.toBuffer();
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    this.tree.putFile(path, Content.copyOf(content));
  }

  async reader(path: string, offset = 0): Promise<Readable> {
    return this.file(path).content.stream(offset);
  }

  async sendTo(path: string, offset: number, length: number, sink: Writable): Promise<void> {
    await pipeReader(this.name, path, await this.reader(path, offset), length, sink);
  }

  async writer(path: string, append: boolean): Promise<FileWriter> {
    this.tree.assertCanHoldFile(path);
    let upload = append ? this.uploads.get(path) : undefined;
    if (!upload) {
      if (append) {
        const committed = this.tree.lookup(path);
        if (!committed) throw new PathNotFoundError(this.name, path);
        if (committed.kind === 'file' && committed.content.size > 0) {
          throw new StorageDriverError(this.name, `cannot append to the committed, non-empty content of ${path}`);
        }
      }
      upload = new Upload();
      this.uploads.set(path, upload);
    }
    return new InMemoryWriter(this, path, upload);
  }

  async stat(path: string): Promise<FileInfo> {
    return info(path, this.node(path));
  }

  async list(path: string): Promise<string[]> {
    return Tree.sortedChildren(this.dir(path)).map(([name]) => joinPath(path, name));
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const source = this.node(sourcePath);
    if (source.kind === 'dir') throw new StorageDriverError(this.name, `cannot move ${sourcePath}: it is a directory`);
    if (sourcePath === destPath) return;
    this.tree.putFile(destPath, source.content, source.modTime);
    this.tree.remove(sourcePath);
  }

  async delete(path: string): Promise<void> {
    const removed = this.tree.remove(path);
    let discarded = false;
    for (const uploadPath of [...this.uploads.keys()]) {
      if (isWithin(path, uploadPath)) discarded = this.uploads.delete(uploadPath) || discarded;
    }
    if (!removed && !discarded) throw new PathNotFoundError(this.name, path);
  }

  async redirectUrl(): Promise<string | undefined> {
    return undefined;
  }

  async walk(path: string, visit: WalkFn): Promise<void> {
    await walkDir(path, this.dir(path), visit);
  }

  async close(): Promise<void> {}

  // UploadHost: how writers reach the driver's unfinished writes.

  isLive(path: string, upload: Upload): boolean {
    return this.uploads.get(path) === upload;
  }

  commitUpload(path: string, upload: Upload): void {
    this.tree.putFile(path, upload.builder.freeze());
    this.uploads.delete(path);
  }

  discardUpload(path: string): void {
    this.uploads.delete(path);
  }

  private node(path: string): TreeNode {
    const node = this.tree.lookup(path);
    if (!node) throw new PathNotFoundError(this.name, path);
    return node;
  }

  private file(path: string): FileNode {
    const node = this.tree.lookup(path);
    if (node?.kind !== 'file') throw new PathNotFoundError(this.name, path);
    return node;
  }

  private dir(path: string): DirNode {
    const node = this.tree.lookup(path);
    if (node?.kind !== 'dir') throw new PathNotFoundError(this.name, path);
    return node;
  }
}

function info(path: string, node: TreeNode): FileInfo {
  return node.kind === 'file'
    ? { path, size: node.content.size, modTime: node.modTime, isDir: false }
    : { path, size: 0, modTime: node.modTime, isDir: true };
}

/** Depth first, names sorted; resolves true when the callback answered 'stop'. */
async function walkDir(path: string, dir: DirNode, visit: WalkFn): Promise<boolean> {
  for (const [name, node] of Tree.sortedChildren(dir)) {
    const childPath = joinPath(path, name);
    const decision = await visit(info(childPath, node));
    if (decision === 'stop') return true;
    if (node.kind === 'dir' && decision !== 'skipdir' && (await walkDir(childPath, node, visit))) return true;
  }
  return false;
}
