import { Readable, type Writable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  PathNotFoundError,
  StorageDriverError,
  joinPath,
  pipeReader,
  type FileInfo,
  type FileWriter,
  type Logger,
  type StorageDriver,
  type WalkFn,
} from '@berth/storage-driver';
import { createS3Client } from './client';
import { S3Context, isVisibleName } from './context';
import { copyObject } from './copy';
import { DirectReader } from './direct-read';
import { isInvalidRange, isNotFound } from './errors';
import { MAX_DELETE_BATCH, PRESIGN_EXPIRES_SECONDS } from './limits';
import { listObjectPages, listObjects } from './listing';
import type { S3Parameters } from './params';
import { presign } from './presign';
import { abortUploadsOlderThan } from './uploads';
import { walkFlat } from './walk';
import { S3FileWriter } from './writer';

const EPOCH = new Date(0);

/**
 * The S3 storage driver (unwrapped: `s3DriverFactory` wraps it with path validation and error
 * typing). Paths map to keys under `rootdirectory` (`/a/b` → `<root>/a/b`); directories are key
 * prefixes and exist while something is stored below them.
 *
 * Besides `StorageDriver` it offers `abortMultipartUploads`, which upload purging uses to reclaim
 * the parts of writes that were never committed or cancelled.
 */
/** `sendTo` asks S3 for exactly the range up to this size (see there). */
const CLOSED_RANGE_MAX_BYTES = 16 * 1024 * 1024;

export class S3Driver implements StorageDriver {
  readonly name: string;
  /** `walk` is one flat listing (see walk.ts), not a listing per directory. */
  readonly walksFlat = true;
  readonly ctx: S3Context;
  private readonly presignClient: ReturnType<typeof createS3Client>;
  /** Reads for `sendTo` on the wire (see direct-read.ts); the SDK's GetObject when it declines. */
  readonly direct: DirectReader;

  constructor(params: S3Parameters, logger?: Logger) {
    this.ctx = new S3Context(createS3Client(params, logger), params, logger);
    this.name = this.ctx.name;
    const client = this.ctx.client as ReturnType<typeof createS3Client>;
    this.direct = new DirectReader(this.ctx, {
      skipVerify: params.skipVerify,
      connectTimeoutMs: params.connectTimeoutMs,
      idleTimeoutMs: params.idleTimeoutMs,
      // Signed as every other request of the driver (SigV2 with `v4auth: false`).
      presign: (command, expiresIn) => presign(client, command, expiresIn),
    });
    this.presignClient = params.redirectEndpoint ? createS3Client(params, logger, params.redirectEndpoint) : client;
  }

  /** The SDK client (tests attach middleware to observe requests). */
  get client(): S3Client {
    return this.ctx.client;
  }

  /** On the wire (`WireRequests`), or through the SDK's GetObject when that declines. */
  async getContent(path: string): Promise<Buffer> {
    const wire = await this.ctx.wire.getObject(this.ctx.key(path));
    if (wire === 'missing') throw new PathNotFoundError(this.name, path);
    if (wire) return wire;
    try {
      const out = await this.ctx.client.send(new GetObjectCommand({ Bucket: this.ctx.bucket, Key: this.ctx.key(path) }));
      return out.Body ? Buffer.from(await out.Body.transformToByteArray()) : Buffer.alloc(0);
    } catch (error) {
      throw this.notFound(error, path);
    }
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    await this.ctx.client.send(
      new PutObjectCommand({
        Bucket: this.ctx.bucket,
        Key: this.ctx.key(path),
        Body: content,
        ContentLength: content.length,
        ContentType: 'application/octet-stream',
        ...this.ctx.writeOptions(),
      }),
    );
  }

  /**
   * One GET on the wire (`DirectReader`, no SDK HTTP stack): up to 16 MiB for exactly that range,
   * beyond from `offset` to the end (as distribution asks for it), cut after `length` bytes, because
   * Ceph RGW served a 1 GiB object markedly slower to a closed range (`bytes=0-1073741823`:
   * 0.64-0.70× distribution's pull) than to an open one (0.93×). When the direct read declines (no
   * 200/206 before the first byte: a missing object, a range past the end, a failing store), the
   * same through the SDK's GetObject, which gives the errors and retries. An empty range costs one
   * HeadObject.
   */
  async sendTo(path: string, offset: number, length: number, sink: Writable): Promise<void> {
    if (length === 0) {
      await this.stat(path);
      return;
    }
    if (await this.direct.send(this.ctx.key(path), offset, length, sink, length > CLOSED_RANGE_MAX_BYTES)) return;
    if (length > CLOSED_RANGE_MAX_BYTES) {
      await pipeReader(this.name, path, await this.reader(path, offset), length, sink);
      return;
    }
    let body: Readable;
    try {
      const range = `bytes=${offset}-${offset + length - 1}`;
      const out = await this.ctx.client.send(new GetObjectCommand({ Bucket: this.ctx.bucket, Key: this.ctx.key(path), Range: range }));
      body = (out.Body as Readable | undefined) ?? Readable.from([]);
    } catch (error) {
      if (!isInvalidRange(error)) throw this.notFound(error, path);
      body = Readable.from([]);
    }
    await pipeReader(this.name, path, body, length, sink);
  }

  /** GetObject with `Range: bytes=offset-`; an offset at or past the end (416) gives an empty stream. */
  async reader(path: string, offset = 0): Promise<Readable> {
    try {
      const out = await this.ctx.client.send(
        new GetObjectCommand({ Bucket: this.ctx.bucket, Key: this.ctx.key(path), Range: offset > 0 ? `bytes=${offset}-` : undefined }),
      );
      if (!out.Body) return Readable.from([]);
      return out.Body as Readable;
    } catch (error) {
      if (isInvalidRange(error)) return Readable.from([]);
      throw this.notFound(error, path);
    }
  }

  writer(path: string, append: boolean): Promise<FileWriter> {
    return S3FileWriter.open(this.ctx, path, append);
  }

  /**
   * HeadObject; when there is no such object, a one-key listing below it tells a directory. Both on
   * the wire (`WireRequests`), each through the SDK when that declines.
   */
  async stat(path: string): Promise<FileInfo> {
    if (path === '/') return { path, size: 0, modTime: EPOCH, isDir: true };
    const key = this.ctx.key(path);
    const wire = await this.ctx.wire.headObject(key);
    if (wire && wire !== 'missing') return { path, size: wire.size, modTime: wire.modTime, isDir: false };
    if (!wire) {
      try {
        const head = await this.ctx.client.send(new HeadObjectCommand({ Bucket: this.ctx.bucket, Key: key }));
        return { path, size: head.ContentLength ?? 0, modTime: head.LastModified ?? EPOCH, isDir: false };
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const page = await listObjects(this.ctx, { prefix: this.ctx.dirPrefix(path), maxKeys: 1 });
    const first = page.Contents?.[0];
    if (!first) throw new PathNotFoundError(this.name, path);
    return { path, size: 0, modTime: first.LastModified ?? EPOCH, isDir: true };
  }

  /** One level of ListObjectsV2 with delimiter `/`, all pages, sorted. */
  async list(path: string): Promise<string[]> {
    const prefix = this.ctx.dirPrefix(path);
    const names = new Set<string>();
    let anything = false;
    for await (const page of listObjectPages(this.ctx, prefix, { delimiter: '/' })) {
      for (const common of page.CommonPrefixes ?? []) {
        anything = true;
        names.add((common.Prefix ?? '').slice(prefix.length, -1));
      }
      for (const object of page.Contents ?? []) {
        anything = true;
        names.add((object.Key ?? '').slice(prefix.length));
      }
    }
    if (!anything && path !== '/') throw new PathNotFoundError(this.name, path);
    return [...names].filter(isVisibleName).map((name) => joinPath(path, name)).sort();
  }

  /** Server-side copy (see copy.ts), then deletion of the source; moving a file onto itself changes nothing. */
  async move(sourcePath: string, destPath: string): Promise<void> {
    const sourceKey = this.ctx.key(sourcePath);
    let size: number;
    try {
      const head = await this.ctx.client.send(new HeadObjectCommand({ Bucket: this.ctx.bucket, Key: sourceKey }));
      size = head.ContentLength ?? 0;
    } catch (error) {
      throw this.notFound(error, sourcePath);
    }
    if (sourcePath === destPath) return; // S3 refuses a copy onto itself; the file is already there
    await copyObject(this.ctx, sourceKey, this.ctx.key(destPath), size);
    await this.ctx.client.send(new DeleteObjectCommand({ Bucket: this.ctx.bucket, Key: sourceKey }));
  }

  /**
   * Deletes the object at the path and every key below `path/` (never `/ab` for `/a`), in
   * DeleteObjects batches of up to 1000 keys, page by page.
   */
  async delete(path: string): Promise<void> {
    const key = this.ctx.key(path);
    // The HEAD runs beside the listing; its outcome is settled here so a failure is never unhandled.
    const head = this.ctx.client.send(new HeadObjectCommand({ Bucket: this.ctx.bucket, Key: key })).then(
      () => ({ exists: true, error: undefined as unknown }),
      (error: unknown) => ({ exists: false, error: isNotFound(error) ? undefined : error }),
    );
    let found = false;
    for await (const page of listObjectPages(this.ctx, `${key}/`)) {
      const keys = (page.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k !== '');
      if (keys.length > 0) found = true;
      await this.deleteKeys(keys);
    }
    const file = await head;
    if (file.error !== undefined) throw file.error;
    if (file.exists) {
      found = true;
      await this.deleteKeys([key]);
    }
    if (!found) throw new PathNotFoundError(this.name, path);
  }

  /** A presigned GET or HEAD URL valid for 20 minutes (on `redirectendpoint` when set; SigV2 with `v4auth: false`). */
  async redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    const input = { Bucket: this.ctx.bucket, Key: this.ctx.key(path) };
    const command = method === 'HEAD' ? new HeadObjectCommand(input) : new GetObjectCommand(input);
    return presign(this.presignClient, command, PRESIGN_EXPIRES_SECONDS);
  }

  async walk(path: string, visit: WalkFn): Promise<void> {
    const found = await walkFlat(this.ctx, path, visit);
    if (!found && path !== '/') throw new PathNotFoundError(this.name, path);
  }

  /**
   * Aborts the multipart uploads (unfinished writers) at `path` or below it that were started
   * before `olderThan`, with their tail objects. `path` is a driver path, `/` for the whole root.
   * Resolves with the number of uploads aborted. Not part of `StorageDriver`.
   */
  async abortMultipartUploads(olderThan: Date, path = '/'): Promise<number> {
    if (path === '/') return abortUploadsOlderThan(this.ctx, olderThan, this.ctx.rootPrefix, () => true);
    const key = this.ctx.key(path);
    return abortUploadsOlderThan(this.ctx, olderThan, key, (k) => k === key || k.startsWith(`${key}/`));
  }

  async close(): Promise<void> {
    this.direct.close();
    this.ctx.wire.close();
    this.ctx.client.destroy();
    if (this.presignClient !== this.ctx.client) this.presignClient.destroy();
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += MAX_DELETE_BATCH) {
      const batch = keys.slice(i, i + MAX_DELETE_BATCH);
      const out = await this.ctx.client.send(
        new DeleteObjectsCommand({ Bucket: this.ctx.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failures = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failures.length > 0) {
        const detail = failures.slice(0, 3).map((e) => `${e.Key}: ${e.Code} ${e.Message ?? ''}`.trim());
        throw new StorageDriverError(this.name, `DeleteObjects failed for ${failures.length} key(s): ${detail.join('; ')}`);
      }
    }
  }

  private notFound(error: unknown, path: string): unknown {
    return isNotFound(error) ? new PathNotFoundError(this.name, path, { cause: error }) : error;
  }
}
