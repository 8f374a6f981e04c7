import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FileWriter } from '@berth/storage-driver';
import type { BlobService } from './blob-service';
import type { BlobDescriptor } from './blob-store';
import type { RepositoryContext } from './context';
import { Digest, type DigestAlgorithm } from './digest';
import { BlobUploadUnknownError, DigestInvalidError } from './errors';
import { UPLOAD_ID_REGEXP } from './names';
import { pathFor } from './paths';
import { assertWithinQuota } from './policies/enforce';
import { isNotFound } from './storage';
import { UploadHashCache } from './upload-hash-cache';
import { rehashUpload, writeChunk, type ChunkOptions } from './upload-write';
import { assertWritable } from './write-policy';

export type { ChunkOptions } from './upload-write';

/** Where an upload session stands. */
export interface UploadStatus {
  readonly id: string;
  /** Bytes received so far (the next chunk must start here). */
  readonly size: number;
  readonly startedAt: Date;
}

/**
 * Upload sessions of one repository. A session's state lives in storage only
 * (`_uploads/<id>/startedat` + `data`), so any process sharing the storage can continue it. The
 * running hash is a per-process cache (see `UploadHashCache`); when it does not cover the stored
 * bytes, commit re-reads `data` to hash it, so a digest is always verified. Calls for one id are
 * serialised inside a process.
 */
export class UploadService {
  constructor(
    private readonly ctx: RepositoryContext,
    private readonly blobs: BlobService,
  ) {}

  /** Opens a session. `algorithm` picks the streaming hash (sha256 unless the client announced another). */
  async start(options: { algorithm?: DigestAlgorithm } = {}): Promise<UploadStatus> {
    assertWritable(this.ctx.writes, 'push');
    const id = randomUUID();
    const startedAt = new Date();
    await this.ctx.storage.driver.putContent(this.path('uploadStartedAt', id), Buffer.from(startedAt.toISOString()));
    this.ctx.hashCache.set(id, UploadHashCache.fresh(options.algorithm ?? 'sha256'));
    return { id, size: 0, startedAt };
  }

  /** The session's size and start time; `BlobUploadUnknownError` when there is no such session. */
  async status(id: string): Promise<UploadStatus> {
    return this.locked(id, async (startedAt) => {
      const writer = await this.openWriter(id, false);
      const size = writer?.size ?? 0;
      await writer?.close();
      return { id, size, startedAt };
    });
  }

  /**
   * Appends a chunk streamed from `body`. With `options.start` the chunk must begin at the current
   * size (`RangeInvalidError` carrying the size otherwise); with `options.length` it must have that
   * many bytes (`SizeInvalidError`). When `body` fails (client abort) or `options.signal` aborts, the
   * bytes stored so far stay and the session remains resumable at its new size; the writer is
   * closed on every path.
   */
  async append(id: string, body: Readable, options: ChunkOptions = {}): Promise<UploadStatus> {
    assertWritable(this.ctx.writes, 'push');
    return this.locked(id, async (startedAt) => {
      options.signal?.throwIfAborted();
      const writer = (await this.openWriter(id, true)) as FileWriter;
      try {
        await writeChunk(this.ctx.hashCache, id, writer, body, options);
      } finally {
        await writer.close();
      }
      return { id, size: writer.size, startedAt };
    });
  }

  /**
   * Completes the session: appends the optional final chunk, verifies the content against `digest`,
   * moves it to `blobs/…/data` (keeping an existing copy of the same blob), links it into the
   * repository and removes the session. On a digest mismatch the session is removed and
   * `DigestInvalidError` is thrown; nothing becomes visible.
   */
  async commit(id: string, digest: Digest, body?: Readable, options: ChunkOptions = {}): Promise<BlobDescriptor> {
    assertWritable(this.ctx.writes, 'push');
    return this.locked(id, async () => {
      const writer = await this.openWriter(id, body !== undefined);
      let size = 0;
      if (writer) {
        try {
          if (body) await writeChunk(this.ctx.hashCache, id, writer, body, options);
        } catch (error) {
          await writer.close();
          throw error;
        }
        size = writer.size;
        await writer.commit();
      }
      const actual = await this.digestOf(id, digest.algorithm, size);
      if (!actual.equals(digest)) {
        await this.remove(id);
        throw new DigestInvalidError(`provided digest ${digest} does not match uploaded content (${actual})`, {
          digest: digest.toString(),
        });
      }
      try {
        await assertWithinQuota(this.ctx, [[digest.toString(), size]]);
      } catch (error) {
        await this.remove(id);
        throw error;
      }
      await this.publish(id, digest, size);
      await this.blobs.link(digest);
      await this.remove(id);
      this.ctx.logger.debug('blob upload committed', { repository: this.ctx.name, digest: digest.toString(), size });
      return { digest, size };
    });
  }

  /** Cancels the session and deletes what it stored; `BlobUploadUnknownError` when there is none. */
  async cancel(id: string): Promise<void> {
    assertWritable(this.ctx.writes, 'push');
    await this.locked(id, async () => {
      const writer = await this.openWriter(id, false);
      await writer?.cancel();
      await this.remove(id);
    });
  }

  private path(kind: 'uploadDir' | 'uploadData' | 'uploadStartedAt', id: string): string {
    return pathFor({ kind, name: this.ctx.name, id });
  }

  /**
   * Runs `fn` under the session's lock once the session is known to exist: its `startedat` file is
   * there. The file is written once, when the session starts, so its modification time is the start
   * time; it is `stat`ed, not read, because a read would be remembered by drivers that keep small
   * files (the filesystem driver's cache), where every finished session would leave an entry behind.
   */
  private async locked<T>(id: string, fn: (startedAt: Date) => Promise<T>): Promise<T> {
    if (!UPLOAD_ID_REGEXP.test(id)) throw new BlobUploadUnknownError(id);
    return this.ctx.uploadLocks.run(`${this.ctx.name}/${id}`, async () => {
      const info = await this.ctx.storage.stat(this.path('uploadStartedAt', id));
      if (info === undefined || info.isDir) throw new BlobUploadUnknownError(id);
      return fn(info.modTime);
    });
  }

  /**
   * Resumes the session's writer. When nothing was written yet: a fresh writer when `create`, else
   * undefined.
   */
  private async openWriter(id: string, create: boolean): Promise<FileWriter | undefined> {
    const path = this.path('uploadData', id);
    try {
      return await this.ctx.storage.driver.writer(path, true);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return create ? this.ctx.storage.driver.writer(path, false) : undefined;
    }
  }

  /**
   * The digest of the session's `size` committed bytes: the cached hash when it covers them, else
   * a peer process's (it received the bytes), else a re-read.
   */
  private async digestOf(id: string, algorithm: DigestAlgorithm, size: number): Promise<Digest> {
    const state = this.ctx.hashCache.get(id, size);
    if (state && state.algorithm === algorithm) return Digest.of(algorithm, state.hash.copy().digest('hex'));
    if (size === 0) return Digest.fromBytes(Buffer.alloc(0), algorithm);
    const peer = await this.ctx.hashPeers?.digestOf({ id, algorithm, size }).catch(() => undefined);
    if (peer !== undefined) return Digest.of(algorithm, peer);
    this.ctx.logger.debug('re-hashing upload from storage', { repository: this.ctx.name, upload: id, size, algorithm });
    return rehashUpload(this.ctx.storage.driver, this.path('uploadData', id), algorithm, size);
  }

  /** Moves the verified upload to its content address, unless an identical blob is already there. */
  private async publish(id: string, digest: Digest, size: number): Promise<void> {
    const existing = await this.ctx.blobStore.stat(digest);
    if (existing && existing.size === size) return;
    if (size === 0) {
      await this.ctx.blobStore.putContent(digest, Buffer.alloc(0));
      return;
    }
    await this.ctx.storage.driver.move(this.path('uploadData', id), pathFor({ kind: 'blobData', digest }));
  }

  private async remove(id: string): Promise<void> {
    this.ctx.hashCache.delete(id);
    await this.ctx.storage.deleteIfExists(this.path('uploadDir', id));
  }
}
