import { constants, promises as fs, statSync, type BigIntStats, type Stats } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import {
  PathNotFoundError,
  StorageDriverError,
  joinPath,
  ownedCopy,
  type FileInfo,
  type FileWriter,
  type StorageDriver,
  type WalkFn,
} from '@berth/storage-driver';
import { copyThenRemove, errorCode, isVisibleName, syncDirectory, writeFileAtomic } from './files';
import { DRIVER_NAME } from './parameters';
import { RevalidatedCache } from './revalidated-cache';
import { sendRange } from './send';
import { FilesystemWriter } from './writer';

/** Read-ahead of one reader stream. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Budget of remembered small-file contents (links, manifests) and of remembered directory listings. */
const CONTENT_CACHE_BYTES = 16 * 1024 * 1024;
const LISTING_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * The identity of a path the cache remembers, or undefined when nothing is there any more. This
 * `stat` is synchronous on purpose: it only runs for paths read recently, whose inode the kernel
 * has cached, and then costs about 2 µs, against about 8 µs for a round trip through libuv's
 * thread pool (`node bench`-style measurement: 1,000 stats of hot directories, 2 ms sync vs 6-10 ms async;
 * a remembered `getContent` through the wrapper: 10-20 µs with it, 25-150 µs with `fs.promises.stat`).
 * A read answered this way never returns to the event loop by itself; the wrapper (`wrapDriver`)
 * makes a caller looping over such reads yield every few milliseconds, so timers and I/O still run.
 */
function revalidationStat(full: string): BigIntStats | undefined {
  return statSync(full, { bigint: true, throwIfNoEntry: false });
}

/** Code-unit order of names, the order every driver lists and walks in. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A store in a local directory: driver path `/a/b` is the file `<root>/a/b`. Directories are real
 * (created on demand, kept when emptied, like distribution's filesystem driver). `putContent` is
 * atomic (temporary file, fsync, rename, fsync of the directory); writers append to the file at the
 * path itself. Temporary files and any entry whose name is outside the path grammar are never listed
 * or walked. No path can leave the root: besides the wrapper's grammar check, every path is resolved
 * and checked to lie inside it.
 *
 * Small files read with `getContent` and directory listings are remembered and revalidated with one
 * `stat` per call (`RevalidatedCache`): a hot link or manifest costs one system call instead of four,
 * and any change, by this process or another one sharing the directory, is seen at once.
 *
 * Unwrapped: the factory returns it through `wrapDriver`.
 */
export class FilesystemDriver implements StorageDriver {
  readonly name = DRIVER_NAME;

  /**
   * @param rootDirectory absolute directory of the store (created by the factory).
   * @param maxThreads most `stat` calls one `walk` issues at once; every other call is one
   *   operation at a time per request, queued by libuv's thread pool (`UV_THREADPOOL_SIZE`).
   * @param options.remember whether small files and listings are remembered (only where a `stat`
   *   is always current: `isLocalFilesystem`); `now`, the clock the caches compare file times with.
   */
  constructor(
    readonly rootDirectory: string,
    private readonly maxThreads: number,
    options: { readonly remember?: boolean; readonly now?: () => number } = {},
  ) {
    const remember = options.remember ?? true;
    this.contents = new RevalidatedCache<Buffer>(remember ? CONTENT_CACHE_BYTES : 0, options.now);
    this.listings = new RevalidatedCache<readonly string[]>(remember ? LISTING_CACHE_BYTES : 0, options.now);
  }

  private readonly contents: RevalidatedCache<Buffer>;
  private readonly listings: RevalidatedCache<readonly string[]>;

  /** The absolute filesystem path of a driver path; throws unless it lies within the root. */
  resolvePath(path: string): string {
    const full = resolve(this.rootDirectory, `.${path}`);
    if (full !== this.rootDirectory && !full.startsWith(this.rootDirectory + sep)) {
      throw new StorageDriverError(this.name, `path ${JSON.stringify(path)} lies outside the root directory`);
    }
    return full;
  }

  async getContent(path: string): Promise<Buffer> {
    const full = this.resolvePath(path);
    try {
      if (this.contents.has(full)) {
        const stats = revalidationStat(full);
        const remembered = stats && this.contents.get(full, stats);
        if (remembered) return Buffer.from(remembered);
      }
      return await this.readAndRemember(full);
    } catch (error) {
      throw this.notFound(error, path, ['EISDIR']);
    }
  }

  /** Reads a whole file, remembering it with the identity `fstat` gave before the read. */
  private async readAndRemember(full: string): Promise<Buffer> {
    const handle = await fs.open(full, 'r');
    try {
      const stats = await handle.stat({ bigint: true });
      const content = await handle.readFile();
      if (BigInt(content.length) === stats.size) this.contents.set(full, stats, ownedCopy(content), contentWeight(full, content));
      return content;
    } finally {
      await handle.close();
    }
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    const full = this.resolvePath(path);
    await fs.mkdir(dirname(full), { recursive: true });
    await writeFileAtomic(full, content);
  }

  async reader(path: string, offset = 0): Promise<Readable> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.resolvePath(path), 'r');
    } catch (error) {
      throw this.notFound(error, path);
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new PathNotFoundError(this.name, path);
      if (offset >= stats.size) {
        await handle.close();
        return Readable.from([], { objectMode: false });
      }
      return handle.createReadStream({ start: offset, highWaterMark: READ_CHUNK_BYTES, autoClose: true });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async sendTo(path: string, offset: number, length: number, sink: Writable): Promise<void> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.resolvePath(path), 'r');
    } catch (error) {
      throw this.notFound(error, path);
    }
    try {
      if (!(await handle.stat()).isFile()) throw new PathNotFoundError(this.name, path);
      await sendRange(this.name, path, handle, offset, length, sink);
    } finally {
      await handle.close();
    }
  }

  async writer(path: string, append: boolean): Promise<FileWriter> {
    const full = this.resolvePath(path);
    if (append) {
      let handle: fs.FileHandle;
      try {
        // No O_CREAT: resuming needs an existing file.
        handle = await fs.open(full, constants.O_WRONLY | constants.O_APPEND);
      } catch (error) {
        throw this.notFound(error, path);
      }
      try {
        const { size } = await handle.stat();
        return new FilesystemWriter(this.name, path, full, handle, size);
      } catch (error) {
        await handle.close();
        throw error;
      }
    }
    await fs.mkdir(dirname(full), { recursive: true });
    const handle = await fs.open(full, 'w');
    return new FilesystemWriter(this.name, path, full, handle, 0);
  }

  async stat(path: string): Promise<FileInfo> {
    try {
      return toInfo(path, await fs.stat(this.resolvePath(path)));
    } catch (error) {
      throw this.notFound(error, path);
    }
  }

  async list(path: string): Promise<string[]> {
    const full = this.resolvePath(path);
    try {
      // The identity is taken before reading, so a change in between is seen by the next call.
      const stats = (this.listings.has(full) && revalidationStat(full)) || (await fs.stat(full, { bigint: true }));
      const remembered = this.listings.get(full, stats);
      if (remembered) return remembered.slice();
      const entries = (await fs.readdir(full)).filter(isVisibleName).sort(byName);
      const paths = entries.map((name) => joinPath(path, name));
      if (stats.isDirectory()) this.listings.set(full, stats, paths, listingWeight(paths));
      return paths.slice();
    } catch (error) {
      if (path === '/' && errorCode(error) === 'ENOENT') return [];
      throw this.notFound(error, path);
    }
  }

  async move(sourcePath: string, destPath: string): Promise<void> {
    const from = this.resolvePath(sourcePath);
    const to = this.resolvePath(destPath);
    let stats: Stats;
    try {
      stats = await fs.lstat(from);
    } catch (error) {
      throw this.notFound(error, sourcePath);
    }
    if (stats.isDirectory()) throw new StorageDriverError(this.name, `cannot move ${sourcePath}: it is a directory`);
    if (from === to) return;
    await fs.mkdir(dirname(to), { recursive: true });
    try {
      await fs.rename(from, to);
    } catch (error) {
      if (errorCode(error) !== 'EXDEV') throw this.notFound(error, sourcePath);
      await copyThenRemove(from, to);
    }
    await syncDirectory(dirname(to));
  }

  async delete(path: string): Promise<void> {
    const full = this.resolvePath(path);
    try {
      await fs.lstat(full);
    } catch (error) {
      throw this.notFound(error, path);
    }
    await fs.rm(full, { recursive: true, force: true });
  }

  async redirectUrl(): Promise<string | undefined> {
    return undefined;
  }

  async walk(path: string, visit: WalkFn): Promise<void> {
    let names: string[];
    try {
      names = await this.visibleChildren(this.resolvePath(path));
    } catch (error) {
      if (path === '/' && errorCode(error) === 'ENOENT') return;
      throw this.notFound(error, path);
    }
    await this.walkChildren(path, names, visit);
  }

  async close(): Promise<void> {}

  private async visibleChildren(full: string): Promise<string[]> {
    return (await fs.readdir(full)).filter(isVisibleName).sort(byName);
  }

  /**
   * Visits `names` (sorted children of `path`) and their subtrees; resolves true on 'stop'. Entries
   * are stat'ed `maxThreads` at a time, ahead of the callback; ones that vanish meanwhile are skipped.
   */
  private async walkChildren(path: string, names: string[], visit: WalkFn): Promise<boolean> {
    const dir = this.resolvePath(path);
    for (let start = 0; start < names.length; start += this.maxThreads) {
      const window = names.slice(start, start + this.maxThreads);
      const stats = await Promise.all(window.map((name) => fs.stat(join(dir, name)).catch(ignoreVanished)));
      for (const [i, name] of window.entries()) {
        const entry = stats[i];
        if (!entry || !(entry.isFile() || entry.isDirectory())) continue;
        const childPath = joinPath(path, name);
        const decision = await visit(toInfo(childPath, entry));
        if (decision === 'stop') return true;
        if (!entry.isDirectory() || decision === 'skipdir') continue;
        const children = await this.visibleChildren(join(dir, name)).catch(ignoreVanished);
        if (children && (await this.walkChildren(childPath, children, visit))) return true;
      }
    }
    return false;
  }

  /** `PathNotFoundError` for "no such file" failures (ENOENT, ENOTDIR and `extra` codes); others unchanged. */
  private notFound(error: unknown, path: string, extra: readonly string[] = []): unknown {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || (code !== undefined && extra.includes(code))) {
      return new PathNotFoundError(this.name, path, { cause: error });
    }
    return error;
  }
}

/**
 * What a remembered file costs, roughly: its bytes, its path (two bytes a character) and the
 * entry's own objects (the map entry, the identity's five numbers, the buffer object).
 */
function contentWeight(full: string, content: Buffer): number {
  return content.length + 2 * full.length + 256;
}

/** Rough bytes a remembered listing holds. */
function listingWeight(paths: readonly string[]): number {
  return paths.reduce((sum, p) => sum + 2 * p.length + 32, 0);
}

function toInfo(path: string, stats: Stats): FileInfo {
  const isDir = stats.isDirectory();
  return { path, size: isDir ? 0 : stats.size, modTime: stats.mtime, isDir };
}

/** Turns "it vanished meanwhile" into undefined; rethrows anything else. */
function ignoreVanished(error: unknown): undefined {
  const code = errorCode(error);
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  throw error;
}
