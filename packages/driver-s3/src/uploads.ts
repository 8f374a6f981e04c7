import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type MultipartUpload,
} from '@aws-sdk/client-s3';
import type { S3Context } from './context';
import { isNotFound } from './errors';
import { listUploads } from './listing';

/**
 * Storage layout of an unfinished write to key K (see writer.ts):
 * - one S3 multipart upload for K, holding parts of at least 5 MiB each;
 * - optionally the tail object `K~tail`: the bytes written after the last part, fewer than 5 MiB,
 *   with metadata naming the upload id and the number of parts it follows. A tail whose metadata
 *   does not match the upload's current state is stale and ignored. `~` is outside the path
 *   grammar, so tail objects never show in list or walk, but deleting a directory removes them.
 */
export const TAIL_SUFFIX = '~tail';
const META_UPLOAD_ID = 'berth-upload-id';
const META_PARTS = 'berth-parts';

export function tailKey(key: string): string {
  return key + TAIL_SUFFIX;
}

/** The multipart uploads for exactly `key` (not for keys it prefixes), oldest first. */
export async function findUploads(ctx: S3Context, key: string): Promise<MultipartUpload[]> {
  const found: MultipartUpload[] = [];
  for await (const upload of listUploads(ctx, key)) {
    if (upload.Key === key && upload.UploadId) found.push(upload);
  }
  return found.sort((a, b) => (a.Initiated?.getTime() ?? 0) - (b.Initiated?.getTime() ?? 0));
}

/** Aborts one multipart upload; one that no longer exists counts as aborted. */
export async function abortUpload(ctx: S3Context, key: string, uploadId: string): Promise<void> {
  try {
    await ctx.client.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: key, UploadId: uploadId }));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** A tail object as stored: its bytes and the upload state it belongs to. */
export interface StoredTail {
  readonly bytes: Buffer;
  readonly uploadId: string | undefined;
  readonly partCount: number;
}

/** Reads `K~tail` (fewer than 5 MiB by construction), or undefined when there is none. */
export async function readTail(ctx: S3Context, key: string): Promise<StoredTail | undefined> {
  try {
    const out = await ctx.client.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: tailKey(key) }));
    const bytes = out.Body ? Buffer.from(await out.Body.transformToByteArray()) : Buffer.alloc(0);
    return {
      bytes,
      uploadId: out.Metadata?.[META_UPLOAD_ID],
      partCount: Number(out.Metadata?.[META_PARTS] ?? NaN),
    };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Stores `bytes` as the tail following `partCount` parts of upload `uploadId`. */
export async function writeTail(ctx: S3Context, key: string, uploadId: string, partCount: number, bytes: Buffer): Promise<void> {
  const { ServerSideEncryption, SSEKMSKeyId } = ctx.writeOptions();
  await ctx.client.send(
    new PutObjectCommand({
      Bucket: ctx.bucket,
      Key: tailKey(key),
      Body: bytes,
      ContentLength: bytes.length,
      ContentType: 'application/octet-stream',
      ServerSideEncryption,
      SSEKMSKeyId,
      Metadata: { [META_UPLOAD_ID]: uploadId, [META_PARTS]: String(partCount) },
    }),
  );
}

/** Deletes `K~tail` (deleting a missing object succeeds on S3). */
export async function deleteTail(ctx: S3Context, key: string): Promise<void> {
  await ctx.client.send(new DeleteObjectCommand({ Bucket: ctx.bucket, Key: tailKey(key) }));
}

/** Deletes `K~tail` only if it belongs to `uploadId`, so a newer upload's tail survives. */
async function deleteTailOf(ctx: S3Context, key: string, uploadId: string): Promise<void> {
  try {
    const head = await ctx.client.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: tailKey(key) }));
    if (head.Metadata?.[META_UPLOAD_ID] === uploadId) await deleteTail(ctx, key);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/**
 * Aborts every multipart upload initiated before `olderThan` whose key starts with `listPrefix` and
 * passes `accept`, and deletes the tail objects that belong to them. Resolves with the number of
 * uploads aborted.
 */
export async function abortUploadsOlderThan(
  ctx: S3Context,
  olderThan: Date,
  listPrefix: string,
  accept: (key: string) => boolean,
): Promise<number> {
  const stale: { key: string; uploadId: string }[] = [];
  for await (const upload of listUploads(ctx, listPrefix)) {
    if (!upload.Key || !upload.UploadId || !upload.Initiated || !accept(upload.Key)) continue;
    if (upload.Initiated.getTime() < olderThan.getTime()) stale.push({ key: upload.Key, uploadId: upload.UploadId });
  }
  for (const { key, uploadId } of stale) {
    await abortUpload(ctx, key, uploadId);
    await deleteTailOf(ctx, key, uploadId);
  }
  return stale.length;
}
