import type { Readable, Writable } from 'node:stream';

/** What `stat` and `walk` report about a path. */
export interface FileInfo {
  /** The path as asked for, in the driver grammar (`/a/b`). */
  readonly path: string;
  /** Size in bytes; 0 for directories. */
  readonly size: number;
  /** Last modification time (for a directory: the newest known, or the epoch when unknown). */
  readonly modTime: Date;
  readonly isDir: boolean;
}

/** What a `walk` callback may answer: continue (undefined), skip this directory's children, or stop. */
export type WalkDecision = void | 'skipdir' | 'stop';
export type WalkFn = (info: FileInfo) => WalkDecision | Promise<WalkDecision>;

/**
 * An open write to one path. Bytes written are flushed by `close`, but only `commit` makes them the
 * path's content for sure (on the filesystem driver they are visible at the path while being
 * written, on S3 they are not: callers write to a staging path and `move` it into place).
 *
 * A writer that was closed without commit or cancel can be resumed by a *new* writer instance, in
 * this or another process: `driver.writer(path, true)` continues at `size`.
 */
export interface FileWriter {
  /** Bytes written so far, including those of earlier writer instances resumed by append. */
  readonly size: number;
  /**
   * Consumes `source` to its end and appends it; resolves with the number of bytes appended.
   * Rejects with `StorageDriverError` once the writer was closed, committed or cancelled.
   */
  write(source: Readable | Buffer): Promise<number>;
  /** Flushes and releases the writer; the write may be resumed later with append. Idempotent. */
  close(): Promise<void>;
  /** Makes the content readable at the path; the writer is closed afterwards. */
  commit(): Promise<void>;
  /** Discards everything written (by this and earlier instances); the writer is closed afterwards. */
  cancel(): Promise<void>;
}

/**
 * A filesystem-like object store. It knows nothing about OCI: paths match `PATH_REGEXP`
 * (`/seg/seg`, segments of `[A-Za-z0-9._-]`, never `.` or `..`); `/` names the root for `list`,
 * `stat`, `walk` and `delete`-free operations only.
 *
 * Every method rejects with the typed errors of `errors.ts`, carrying the driver's name:
 * `PathNotFoundError` for a missing path, `InvalidPathError`, `InvalidOffsetError`,
 * `UnsupportedMethodError`, and `StorageDriverError` for anything else.
 */
export interface StorageDriver {
  /** The registered driver name (`inmemory`, `filesystem`, `s3`). */
  readonly name: string;
  /**
   * True when `walk` enumerates a subtree in a few requests whatever its shape (S3: one flat
   * listing, 1,000 keys a request, skipped directories jumped over), so that a caller needing most
   * of a tree's directories walks it rather than listing directory by directory. Absent or false:
   * `walk` costs at least a listing per directory.
   */
  readonly walksFlat?: boolean;
  /** The whole content of a path. For small objects (links, manifests). */
  getContent(path: string): Promise<Buffer>;
  /** Replaces the content of a path atomically: readers see the old or the new content, never a mix. */
  putContent(path: string, content: Buffer): Promise<void>;
  /**
   * A stream of the content from `offset`. An offset at or past the end gives an empty stream;
   * a negative offset rejects with `InvalidOffsetError`.
   */
  reader(path: string, offset?: number): Promise<Readable>;
  /**
   * Writes bytes `[offset, offset + length)` of the file at `path` to `sink`, with `sink`'s
   * back-pressure, and resolves once `sink` has accepted the last one (`sink` is not ended). The
   * way to serve a blob: a driver may reuse its read buffers here, which a `reader` stream cannot
   * (`pipeReader` implements it over `reader`). Rejects with `PathNotFoundError` for a missing
   * path, `InvalidOffsetError` for a negative offset or length, `StorageDriverError` when the file
   * ends before `offset + length`, and with `sink`'s error when `sink` fails or closes first
   * (code `ERR_STREAM_PREMATURE_CLOSE`); it stops reading then.
   */
  sendTo(path: string, offset: number, length: number, sink: Writable): Promise<void>;
  /**
   * A writer for `path`. `append: false` starts afresh (discarding any unfinished write there);
   * `append: true` resumes an unfinished write, or one whose committed content is empty, and rejects
   * with `PathNotFoundError` when there is nothing to resume.
   */
  writer(path: string, append: boolean): Promise<FileWriter>;
  /** Size, modification time and kind of a path. */
  stat(path: string): Promise<FileInfo>;
  /** Full paths of the direct children of a directory, sorted. The root of an empty store lists as []. */
  list(path: string): Promise<string[]>;
  /** Moves a file, replacing anything at the destination. */
  move(sourcePath: string, destPath: string): Promise<void>;
  /** Deletes a file or a whole directory tree; never a sibling that only shares a prefix (`/a` vs `/ab`). */
  delete(path: string): Promise<void>;
  /**
   * A URL from which a client may fetch the content directly (e.g. a presigned S3 URL), or
   * undefined when the driver serves no redirects.
   */
  redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined>;
  /**
   * Visits every file and directory below `path` (not `path` itself), depth first, a directory
   * before its children, siblings in lexical order of name. `visit` may answer 'skipdir' (for a
   * directory: its children are not visited) or 'stop'. A missing `path` rejects with
   * `PathNotFoundError`.
   */
  walk(path: string, visit: WalkFn): Promise<void>;
  /** Releases sockets, timers and file handles. */
  close?(): Promise<void>;
}
