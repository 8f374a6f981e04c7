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
import { PartBufferPool, partBufferPoolOf } from './part-buffers';
import { abortUpload, deleteTail, findUploads, readTail, writeTail } from './uploads';

/** The first allocation of a writer's part buffer; it doubles as data arrives, up to `DOUBLING_LIMIT`. */
const INITIAL_BUFFER = 64 * 1024;
/**
 * Past this size the buffer grows straight to a full-size one from the pool: doubling on to a
 * 10 MiB chunksize would leave 16 MiB of short-lived buffers behind per large upload.
 */
const DOUBLING_LIMIT = 1024 * 1024;

type WriterState = 'open' | 'closed' | 'committed' | 'cancelled' | 'failed';

interface ResumeState {
  readonly uploadId: string | undefined;
  readonly parts: StoredPart[];
  readonly tail: Buffer;
  /** True when a tail object may exist (valid or stale) and should be deleted when done. */
  readonly tailMayExist: boolean;
}

/** The part a writer is sending while it fills its other buffer. */
interface PartInFlight {
  readonly partNumber: number;
  /** A pooled buffer, reused or given back once the part settled. */
  readonly buffer: Buffer;
  readonly length: number;
  /** Never rejects: the part's ETag, or the error that failed it. */
  readonly outcome: Promise<{ etag: string } | { error: unknown }>;
}

/**
 * A resumable writer to one key.
 *
 * Memory: one part buffer, doubling from 64 KiB up to 1 MiB, then `chunksize` (a small object never
 * takes a full part buffer unless an idle one is there to reuse), and during `write` possibly a
 * second `chunksize` one. Full-size buffers come from
 * the driver's `PartBufferPool` (see part-buffers.ts) and go back to it when the writer is done,
 * on every path (commit, close, cancel, failure); the second one already at the end of each
 * `write`. Whenever the buffer fills, it is sent as the next UploadPart, so an object of any size
 * streams through:
 * - with a second buffer (lent only within the pool's budget), the part is sent while `write`
 *   goes on reading the source into the other buffer; before the next part starts, the previous
 *   one is awaited, so at most one UploadPart is in flight per writer and parts are numbered,
 *   finished and recorded in order;
 * - without one, `write` waits for the part before it reads on, into the same buffer.
 * `write` returns (or throws) only after its last part settled, so `size`, `close` and `commit`
 * never see a part in flight.
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
  /** The buffer being filled; its first `length` bytes are the ones not yet sent. */
  private buffer: Buffer;
  private length: number;
  /** Whether `buffer` came from the pool (it is then `chunksize` bytes long). */
  private bufferPooled = false;
  /** A pooled buffer the writer holds that is neither being filled nor in flight. */
  private spare: Buffer | undefined;
  private inFlight: PartInFlight | undefined;
  /** Set as soon as the part in flight failed, so that reading stops before the next part is full. */
  private inFlightFailed = false;
  /** How many leading buffered bytes the tail object already holds for the current part count. */
  private persistedTail: number;
  private tailMayExist: boolean;
  private state: WriterState = 'open';
  private busy = false;

  private constructor(
    private readonly ctx: S3Context,
    private readonly pool: PartBufferPool,
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
   * neither, StorageDriverError for committed non-empty content. `pool` (default: the driver's)
   * lends the full-size part buffers; its buffer size must be the driver's `chunksize`.
   */
  static async open(ctx: S3Context, path: string, append: boolean, pool = partBufferPoolOf(ctx)): Promise<S3FileWriter> {
    if (pool.bufferSize !== ctx.params.chunkSize) {
      throw new RangeError(`part buffers of ${pool.bufferSize} bytes do not match chunksize ${ctx.params.chunkSize}`);
    }
    const key = ctx.key(path);
    const uploads = await findUploads(ctx, key);
    if (!append) {
      for (const upload of uploads) await abortUpload(ctx, key, upload.UploadId ?? '');
      return new S3FileWriter(ctx, pool, path, key, { uploadId: undefined, parts: [], tail: Buffer.alloc(0), tailMayExist: uploads.length > 0 });
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
      return new S3FileWriter(ctx, pool, path, key, { uploadId: undefined, parts: [], tail: Buffer.alloc(0), tailMayExist: false });
    }
    const uploadId = newest.UploadId;
    const [parts, tail] = await Promise.all([listParts(ctx, key, uploadId), readTail(ctx, key)]);
    const valid = tail !== undefined && tail.uploadId === uploadId && tail.partCount === parts.length;
    return new S3FileWriter(ctx, pool, path, key, {
      uploadId,
      parts,
      tail: valid ? tail.bytes : Buffer.alloc(0),
      tailMayExist: tail !== undefined,
    });
  }

  get size(): number {
    return this.partBytes + (this.inFlight?.length ?? 0) + this.length;
  }

  async write(source: Readable | Buffer): Promise<number> {
    return this.exclusive(async () => {
      let written = 0;
      if (Buffer.isBuffer(source)) {
        await this.append(source);
        written = source.length;
      } else {
        for await (const chunk of source) {
          const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array | string);
          await this.append(bytes);
          written += bytes.length;
        }
      }
      await this.finishInFlight();
      this.returnSpare();
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
      // The part in flight still reads its buffer, and may still land in S3: wait for it.
      await this.finishInFlight().catch(() => undefined);
      this.state = 'failed';
      this.release();
      throw error;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Copies `bytes` into the part buffer, sending a part each time it reaches `chunksize`: in the
   * background when a second buffer is at hand, else waiting for it.
   */
  private async append(bytes: Buffer): Promise<void> {
    const chunkSize = this.ctx.params.chunkSize;
    if (this.inFlightFailed) await this.finishInFlight();
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(bytes.length - offset, chunkSize - this.length);
      this.reserve(this.length + take);
      bytes.copy(this.buffer, this.length, offset, offset + take);
      this.length += take;
      offset += take;
      if (this.length === chunkSize) await this.partFull();
    }
  }

  /**
   * Grows the buffer to hold `needed` bytes: doubling while that stays within `DOUBLING_LIMIT` and
   * the pool has no idle buffer to reuse, else to a full-size (`chunksize`) buffer from the pool.
   */
  private reserve(needed: number): void {
    if (this.buffer.length >= needed) return;
    const size = Math.max(needed, this.buffer.length * 2);
    const pooled = size > DOUBLING_LIMIT || this.pool.idleCount > 0;
    const grown = pooled ? this.pool.acquire() : Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
    this.bufferPooled = pooled;
  }

  /** The full buffer goes out as the next part; reading goes on into a spare buffer if there is one. */
  private async partFull(): Promise<void> {
    await this.finishInFlight();
    await this.ensureUpload();
    const partNumber = this.nextPartNumber();
    const next = this.bufferPooled ? (this.spare ?? this.pool.tryAcquireSpare()) : undefined;
    if (!next) {
      await this.sendPart();
      return;
    }
    const { buffer, length } = this;
    this.buffer = next;
    this.length = 0;
    this.persistedTail = 0;
    this.spare = undefined;
    this.inFlightFailed = false;
    const outcome = this.uploadPart(partNumber, buffer, length).then(
      (etag) => ({ etag }),
      (error: unknown) => {
        this.inFlightFailed = true;
        return { error };
      },
    );
    this.inFlight = { partNumber, buffer, length, outcome };
  }

  /** Waits for the part in flight, if any, records it and keeps its buffer as the spare; throws its error. */
  private async finishInFlight(): Promise<void> {
    const part = this.inFlight;
    if (!part) return;
    const outcome = await part.outcome;
    this.inFlight = undefined;
    this.spare = part.buffer;
    if ('error' in outcome) throw outcome.error;
    this.recordPart(part.partNumber, outcome.etag, part.length);
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

  /** Sends the buffered bytes as the next part, waiting for it, and empties the buffer (keeping its memory). */
  private async sendPart(): Promise<void> {
    await this.ensureUpload();
    const partNumber = this.nextPartNumber();
    const etag = await this.uploadPart(partNumber, this.buffer, this.length);
    this.recordPart(partNumber, etag, this.length);
    this.length = 0;
    this.persistedTail = 0;
  }

  /** The number of the next part; every earlier part is recorded, none is in flight. */
  private nextPartNumber(): number {
    const partNumber = (this.parts[this.parts.length - 1]?.PartNumber ?? 0) + 1;
    if (partNumber > MAX_PARTS) {
      throw new StorageDriverError(this.ctx.name, `${this.path} exceeds S3's ${MAX_PARTS} parts (chunksize ${this.ctx.params.chunkSize})`);
    }
    return partNumber;
  }

  private async uploadPart(partNumber: number, buffer: Buffer, length: number): Promise<string> {
    const out = await this.ctx.client.send(
      new UploadPartCommand({
        Bucket: this.ctx.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber: partNumber,
        Body: buffer.subarray(0, length),
        ContentLength: length,
      }),
    );
    return out.ETag ?? '';
  }

  private recordPart(partNumber: number, etag: string, length: number): void {
    this.parts.push({ PartNumber: partNumber, ETag: etag, Size: length });
    this.partBytes += length;
  }

  private async dropTail(): Promise<void> {
    await deleteTail(this.ctx, this.key);
    this.tailMayExist = false;
  }

  /** Gives the spare buffer back to the pool (at the end of each `write`). */
  private returnSpare(): void {
    if (this.spare) this.pool.release(this.spare);
    this.spare = undefined;
  }

  /**
   * Frees the part buffers once the writer is done (`length` stays, for `size`): pooled ones go
   * back to the pool. Never called with a part in flight; calling it again does nothing.
   */
  private release(): void {
    this.returnSpare();
    if (this.bufferPooled) this.pool.release(this.buffer);
    this.bufferPooled = false;
    this.buffer = Buffer.alloc(0);
  }
}
