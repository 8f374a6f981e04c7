import {
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  type MultipartUpload,
} from '@aws-sdk/client-s3';
import type { S3Context } from './context';
import type { ListInput, ListPage } from './wire-requests';

/** One ListObjectsV2 page: on the wire (`WireRequests`), or through the SDK when that declines. */
export async function listObjects(ctx: S3Context, input: ListInput): Promise<ListPage> {
  const wire = await ctx.wire.listObjects(input);
  if (wire) return wire;
  return ctx.client.send(
    new ListObjectsV2Command({
      Bucket: ctx.bucket,
      Prefix: input.prefix,
      Delimiter: input.delimiter,
      StartAfter: input.continuationToken ? undefined : input.startAfter,
      ContinuationToken: input.continuationToken,
      MaxKeys: input.maxKeys,
    }),
  );
}

/** Pages of ListObjectsV2 under `prefix` (with `delimiter` for one level), following continuation tokens. */
export async function* listObjectPages(
  ctx: S3Context,
  prefix: string,
  options: { delimiter?: string; startAfter?: string } = {},
): AsyncGenerator<ListPage> {
  let continuationToken: string | undefined;
  do {
    const page = await listObjects(ctx, { prefix, delimiter: options.delimiter, startAfter: options.startAfter, continuationToken });
    yield page;
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken);
}

/** One object of a flat listing. */
export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly modTime: Date;
}

/**
 * A flat listing under a prefix, read one key at a time, that can jump forward: `seekPast(key)`
 * drops what is buffered and continues with the first key after `key` (one new request), which
 * lets a walk skip a large directory without listing it.
 */
export class ObjectCursor {
  private buffered: ListedObject[] = [];
  private index = 0;
  private continuationToken: string | undefined;
  private startAfter: string | undefined;
  private exhausted = false;

  constructor(
    private readonly ctx: S3Context,
    private readonly prefix: string,
  ) {}

  /** The next object, or undefined at the end of the listing. */
  async next(): Promise<ListedObject | undefined> {
    while (this.index >= this.buffered.length) {
      if (this.exhausted) return undefined;
      await this.fetch();
    }
    return this.buffered[this.index++];
  }

  /** True when more pages follow and the buffered page ends inside `prefix` (so seeking past `prefix` saves requests). */
  pageEndsWithin(prefix: string): boolean {
    const last = this.buffered[this.buffered.length - 1];
    return !this.exhausted && last !== undefined && last.key.startsWith(prefix);
  }

  /** Continues the listing after `key`. */
  seekPast(key: string): void {
    this.buffered = [];
    this.index = 0;
    this.continuationToken = undefined;
    this.startAfter = key;
    this.exhausted = false;
  }

  private async fetch(): Promise<void> {
    const page = await listObjects(this.ctx, { prefix: this.prefix, continuationToken: this.continuationToken, startAfter: this.startAfter });
    this.buffered = (page.Contents ?? []).map((o) => ({ key: o.Key ?? '', size: o.Size ?? 0, modTime: o.LastModified ?? new Date(0) }));
    this.index = 0;
    this.continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    this.exhausted = this.continuationToken === undefined;
  }
}

/** Every multipart upload whose key starts with `prefix`, following the key/upload-id markers. */
export async function* listUploads(ctx: S3Context, prefix: string): AsyncGenerator<MultipartUpload> {
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await ctx.client.send(
      new ListMultipartUploadsCommand({ Bucket: ctx.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
    );
    yield* page.Uploads ?? [];
    if (!page.IsTruncated) return;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
    if (!keyMarker && !uploadIdMarker) return;
  }
}

/** A part already stored in a multipart upload. */
export interface StoredPart {
  readonly PartNumber: number;
  readonly ETag: string;
  readonly Size: number;
}

/** Every part of an upload in part-number order (ListParts, paginated). Rejects like ListParts for an unknown upload. */
export async function listParts(ctx: S3Context, key: string, uploadId: string): Promise<StoredPart[]> {
  const parts: StoredPart[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await ctx.client.send(
      new ListPartsCommand({ Bucket: ctx.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
    );
    for (const part of page.Parts ?? []) {
      parts.push({ PartNumber: part.PartNumber ?? 0, ETag: part.ETag ?? '', Size: part.Size ?? 0 });
    }
    if (!page.IsTruncated || !page.NextPartNumberMarker) break;
    marker = page.NextPartNumberMarker;
  }
  return parts.sort((a, b) => a.PartNumber - b.PartNumber);
}
