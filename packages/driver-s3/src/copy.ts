import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { StorageDriverError } from '@berth/storage-driver';
import type { S3Context } from './context';
import { copyRanges } from './limits';
import { abortUpload } from './uploads';

/**
 * Copies `sourceKey` (of `size` bytes) to `destKey` inside the bucket, server side: one CopyObject
 * up to `multipartcopythresholdsize`, otherwise a multipart upload of UploadPartCopy ranges of
 * `multipartcopychunksize` with at most `multipartcopymaxconcurrency` in flight (aborted if any
 * part fails).
 */
export async function copyObject(ctx: S3Context, sourceKey: string, destKey: string, size: number): Promise<void> {
  if (size <= ctx.params.multipartCopyThresholdSize) {
    await ctx.client.send(
      new CopyObjectCommand({
        Bucket: ctx.bucket,
        Key: destKey,
        CopySource: ctx.copySource(sourceKey),
        ...ctx.writeOptions(),
      }),
    );
    return;
  }
  await multipartCopy(ctx, sourceKey, destKey, size);
}

async function multipartCopy(ctx: S3Context, sourceKey: string, destKey: string, size: number): Promise<void> {
  const created = await ctx.client.send(
    new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key: destKey, ContentType: 'application/octet-stream', ...ctx.writeOptions() }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new StorageDriverError(ctx.name, `CreateMultipartUpload for a copy to ${destKey} returned no upload id`);
  const ranges = copyRanges(size, ctx.params.multipartCopyChunkSize);
  const etags: string[] = new Array<string>(ranges.length);
  let next = 0;
  let failed = false;

  const worker = async (): Promise<void> => {
    while (!failed && next < ranges.length) {
      const range = ranges[next++];
      try {
        const out = await ctx.client.send(
          new UploadPartCopyCommand({
            Bucket: ctx.bucket,
            Key: destKey,
            UploadId: uploadId,
            PartNumber: range.partNumber,
            CopySource: ctx.copySource(sourceKey),
            CopySourceRange: `bytes=${range.first}-${range.last}`,
          }),
        );
        etags[range.partNumber - 1] = out.CopyPartResult?.ETag ?? '';
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };

  try {
    const workers = Math.min(ctx.params.multipartCopyMaxConcurrency, ranges.length);
    const results = await Promise.allSettled(Array.from({ length: workers }, worker));
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
    await ctx.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: ctx.bucket,
        Key: destKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: ranges.map((r) => ({ PartNumber: r.partNumber, ETag: etags[r.partNumber - 1] })) },
      }),
    );
  } catch (error) {
    await abortUpload(ctx, destKey, uploadId).catch(() => undefined);
    throw error;
  }
}
