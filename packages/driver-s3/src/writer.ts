import type { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { PathNotFoundError, StorageDriverError, type FileWriter } from '@berth/storage-driver';
import type { S3Context } from './context';
import { isNotFound } from './errors';
import { MAX_PARTS, isUploadablePart } from './limits';
import { listParts, type StoredPart } from './listing';
import { abortUpload, deleteTail, findUploads, readTail, writeTail } from './uploads';

/** The first allocation of a writer's part buffer; it doubles up to `chunksize` as data arrives. */
const INITIAL_BUFFER = 64 * 1024;

type WriterState = 'open' | 'closed' | 'committed' | 'cancelled' | 'failed';

interface ResumeState {
  readonly uploadId: string | undefined;
  readonly parts: StoredPart[];
  readonly tail: Buffer;
  /** True when a tail object may exist (valid or stale) and should be deleted when done. */
  readonly tailMayExist: boolean;
}

/**
 * A resumable writer to one key. Memory: one part buffer of at most `chunksize` bytes, reused for
 * every part; whenever it fills, it is sent as the next UploadPart, so an object of any size
 * streams through.
 *
 * State lives in S3 only (see uploads.ts for the layout), so any process can resume a write:
 * - the multipart upload is created when the first part is sent or the writer is closed;
 * - `close` sends a buffered tail of 5 MiB or more as a part, and stores a shorter one as the tail
 *   object (S3 refuses non-final parts under 5 MiB); a resumed writer loads that tail back into
 *   its buffer, so every PATCH costs at most one chunk of extra transfer, never a copy of the
 *   whole object;
 * - `commit` sends the buffer as the final part and completes the upload, or, when no part was
 *   sent yet (small and zero-byte objects), stores the buffer with one PutObject;
 * - `cancel` aborts the upload and deletes the tail.
 */
export class S3FileWriter implements FileWriter {
  private uploadId: string | undefined;
  private readonly parts: StoredPart[];
  private partBytes: number;
  private buffer: Buffer;
  private length: number;
  /** How many leading buffered bytes the tail object already holds for the current part count. */
  private persistedTail: number;
  private tailMayExist: boolean;
  private state: WriterState = 'open';
  private busy = false;

  private constructor(
    private readonly ctx: S3Context,
    private readonly path: string,
    private readonly key: string,
    resume: ResumeState,
  ) {
    this.uploadId = resume.uploadId;
    this.parts = [...resume.parts];
    this.partBytes = this.parts.reduce((sum, p) => sum + p.Size, 0);
    this.buffer = Buffer.allocUnsafe(Math.max(resume.tail.length, Math.min(INITIAL_BUFFER, ctx.params.chunkSize)));
    resume.tail.copy(this.buffer);
    this.length = resume.tail.length;
    this.persistedTail = resume.tail.length;
    this.tailMayExist = resume.tailMayExist;
  }

  /**
   * Opens a writer. `append: false` aborts any unfinished upload for the key and starts empty.
   * `append: true` resumes the newest unfinished upload (ListMultipartUploads + ListParts + the
   * tail object), or starts empty over committed empty content; PathNotFoundError when there is
   * neither, StorageDriverError for committed non-empty content.
   */
  static async open(ctx: S3Context, path: string, append: boolean): Promise<S3FileWriter> {
    const key = ctx.key(path);
    const uploads = await findUploads(ctx, key);
    if (!append) {
      for (const upload of uploads) await abortUpload(ctx, key, upload.UploadId ?? '');
      return new S3FileWriter(ctx, path, key, { uploadId: undefined, parts: [], tail: Buffer.alloc(0), tailMayExist: uploads.length > 0 });
    }
    const newest = uploads[uploads.length - 1];
    if (!newest?.UploadId) {
      let size: number;
      try {
        const head = await ctx.client.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: key }));
        size = head.ContentLength ?? 0;
      } catch (error) {
        if (isNotFound(error)) throw new PathNotFoundError(ctx.name, path, { cause: error });
        throw error;
      }
      if (size !== 0) throw new StorageDriverError(ctx.name, `cannot append to ${path}: its committed content is not empty`);
      return new S3FileWriter(ctx, path, key, { uploadId: undefined, parts: [], tail: Buffer.alloc(0), tailMayExist: false });
    }
    const uploadId = newest.UploadId;
    const [parts, tail] = await Promise.all([listParts(ctx, key, uploadId), readTail(ctx, key)]);
    const valid = tail !== undefined && tail.uploadId === uploadId && tail.partCount === parts.length;
    return new S3FileWriter(ctx, path, key, {
      uploadId,
      parts,
      tail: valid ? tail.bytes : Buffer.alloc(0),
      tailMayExist: tail !== undefined,
    });
  }

  get size(): number {
    return this.partBytes + this.length;
  }

  async write(source: Readable | Buffer): Promise<number> {
    return this.exclusive(async () => {
      let written = 0;
      if (Buffer.isBuffer(source)) {
        await this.append(source);
        return source.length;
      }
      for await (const chunk of source) {
        const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array | string);
        await this.append(bytes);
        written += bytes.length;
      }
      return written;
    });
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.release();
      return;
    }
    await this.exclusive(async () => {
      await this.ensureUpload();
      if (isUploadablePart(this.length)) {
        await this.sendPart();
        if (this.tailMayExist) await this.dropTail();
      } else if (this.length > this.persistedTail) {
        await writeTail(this.ctx, this.key, this.uploadId as string, this.parts.length, this.buffer.subarray(0, this.length));
        this.persistedTail = this.length;
        this.tailMayExist = true;
      } else if (this.length === 0 && this.tailMayExist) {
        await this.dropTail();
      }
      this.state = 'closed';
      this.release();
    });
  }

  async commit(): Promise<void> {
    if (this.state !== 'open') throw new StorageDriverError(this.ctx.name, `cannot commit ${this.path}: writer already ${this.state}`);
    await this.exclusive(async () => {
      if (this.parts.length === 0) {
        await this.ctx.client.send(
          new PutObjectCommand({
            Bucket: this.ctx.bucket,
            Key: this.key,
            Body: this.buffer.subarray(0, this.length),
            ContentLength: this.length,
            ContentType: 'application/octet-stream',
            ...this.ctx.writeOptions(),
          }),
        );
        if (this.uploadId) await abortUpload(this.ctx, this.key, this.uploadId);
      } else {
        if (this.length > 0) await this.sendPart();
        await this.ctx.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.ctx.bucket,
            Key: this.key,
            UploadId: this.uploadId,
            MultipartUpload: { Parts: this.parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
          }),
        );
      }
      if (this.tailMayExist) await this.dropTail();
      this.state = 'committed';
      this.release();
    });
  }

  async cancel(): Promise<void> {
    if (this.state === 'committed' || this.state === 'cancelled') return;
    if (this.busy) throw new StorageDriverError(this.ctx.name, `cannot cancel ${this.path} during a write`);
    this.state = 'cancelled';
    this.release();
    if (this.uploadId) await abortUpload(this.ctx, this.key, this.uploadId);
    if (this.tailMayExist) await this.dropTail();
  }

  /** Runs one operation at a time; any failure leaves the writer failed (only cancel still works). */
  private async exclusive<T>(operation: () => Promise<T>): Promise<T> {
    if (this.state !== 'open') throw new StorageDriverError(this.ctx.name, `writer for ${this.path} is ${this.state}`);
    if (this.busy) throw new StorageDriverError(this.ctx.name, `concurrent operations on the writer for ${this.path}`);
    this.busy = true;
    try {
      return await operation();
    } catch (error) {
      this.state = 'failed';
      this.release();
      throw error;
    } finally {
      this.busy = false;
    }
  }

  /** Copies `bytes` into the part buffer, sending a part each time it reaches `chunksize`. */
  private async append(bytes: Buffer): Promise<void> {
    const chunkSize = this.ctx.params.chunkSize;
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(bytes.length - offset, chunkSize - this.length);
      this.reserve(this.length + take);
      bytes.copy(this.buffer, this.length, offset, offset + take);
      this.length += take;
      offset += take;
      if (this.length === chunkSize) await this.sendPart();
    }
  }

  /** Grows the buffer (doubling, capped at `chunksize`) to hold `needed` bytes. */
  private reserve(needed: number): void {
    if (this.buffer.length >= needed) return;
    const size = Math.min(this.ctx.params.chunkSize, Math.max(needed, this.buffer.length * 2));
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  private async ensureUpload(): Promise<void> {
    if (this.uploadId) return;
    const out = await this.ctx.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.ctx.bucket,
        Key: this.key,
        ContentType: 'application/octet-stream',
        ...this.ctx.writeOptions(),
      }),
    );
    if (!out.UploadId) throw new StorageDriverError(this.ctx.name, `CreateMultipartUpload for ${this.path} returned no upload id`);
    this.uploadId = out.UploadId;
  }

  /** Sends the buffered bytes as the next part and empties the buffer (keeping its memory). */
  private async sendPart(): Promise<void> {
    await this.ensureUpload();
    const partNumber = (this.parts[this.parts.length - 1]?.PartNumber ?? 0) + 1;
    if (partNumber > MAX_PARTS) {
      throw new StorageDriverError(this.ctx.name, `${this.path} exceeds S3's ${MAX_PARTS} parts (chunksize ${this.ctx.params.chunkSize})`);
    }
    const out = await this.ctx.client.send(
      new UploadPartCommand({
        Bucket: this.ctx.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber: partNumber,
        Body: this.buffer.subarray(0, this.length),
        ContentLength: this.length,
      }),
    );
    this.parts.push({ PartNumber: partNumber, ETag: out.ETag ?? '', Size: this.length });
    this.partBytes += this.length;
    this.length = 0;
    this.persistedTail = 0;
  }

  private async dropTail(): Promise<void> {
    await deleteTail(this.ctx, this.key);
    this.tailMayExist = false;
  }

  /** Frees the part buffer once the writer is done (`length` stays, for `size`). */
  private release(): void {
    this.buffer = Buffer.alloc(0);
  }
}
