import type { Readable, Writable } from 'node:stream';
import { ContentCache } from './content-cache';
import { DescriptorCache } from './descriptor-cache';
import type { Digest } from './digest';
import { BlobUnknownError } from './errors';
import { pathFor } from './paths';
import { CacheField, GLOBAL_SCOPE, readThrough, SHARED_CONTENT_MAX_BYTES, type SharedMetadataCache } from './shared-cache';
import { isNotFound, type Storage } from './storage';

/** A blob as the API describes it. */
export interface BlobDescriptor {
  readonly digest: Digest;
  readonly size: number;
}

/** Manifest bytes remembered per process (see `ContentCache`). */
const CONTENT_CACHE_BYTES = 16 * 1024 * 1024;

/**
 * The global, content-addressed blob store (`blobs/<alg>/<xx>/<hex>/data`). It knows nothing about
 * repositories: visibility in a repository is the `_layers` link (see `BlobService`).
 */
export class BlobStore {
  private readonly contents = new ContentCache(CONTENT_CACHE_BYTES);
  private readonly descriptors?: DescriptorCache;

  /**
   * @param descriptorCacheSize remember this many blob sizes (`storage.cache.blobdescriptorsize`; 0 =
   * no bound); undefined = none, every `stat` asks the driver.
   * @param shared the cache shared with other processes and replicas: blob sizes and small manifests.
   */
  constructor(
    private readonly storage: Storage,
    descriptorCacheSize?: number,
    private readonly shared?: SharedMetadataCache,
  ) {
    if (descriptorCacheSize !== undefined) this.descriptors = new DescriptorCache(descriptorCacheSize);
  }

  /**
   * The blob's size as the driver reports it now, or undefined when it is not stored. Never answered
   * from the descriptor cache (it refreshes it): for decisions a remembered answer must not make, such
   * as whether an upload's data still has to be moved into place.
   */
  async stat(digest: Digest): Promise<BlobDescriptor | undefined> {
    const key = digest.toString();
    const info = await this.storage.stat(pathFor({ kind: 'blobData', digest }));
    if (!info || info.isDir) {
      this.descriptors?.delete(key);
      return undefined;
    }
    this.descriptors?.set(key, info.size);
    return { digest, size: info.size };
  }

  /** Like `stat`, answered from the descriptor cache when it remembers the blob (serving a blob). */
  async describe(digest: Digest): Promise<BlobDescriptor | undefined> {
    const size = this.descriptors?.get(digest.toString());
    if (size !== undefined) return { digest, size };
    if (!this.shared) return this.stat(digest);
    return readThrough(
      this.shared,
      GLOBAL_SCOPE,
      CacheField.blobSize(digest.toString()),
      (cached) => ({ digest, size: Number(cached.toString()) }),
      () => this.stat(digest),
      (found) => (found ? String(found.size) : undefined),
    );
  }


  /** Blob sizes in the descriptor cache (0 without one; for tests). */
  get cachedDescriptors(): number {
    return this.descriptors?.size ?? 0;
  }

  /** A stream of the blob from `offset`. Throws `BlobUnknownError` when it is not stored. */
  async reader(digest: Digest, offset = 0): Promise<Readable> {
    try {
      return await this.storage.driver.reader(pathFor({ kind: 'blobData', digest }), offset);
    } catch (error) {
      if (isNotFound(error)) throw new BlobUnknownError(digest.toString());
      throw error;
    }
  }

  /**
   * Writes `length` bytes of the blob from `offset` to `sink` (not ended), the driver's fastest way
   * (`StorageDriver.sendTo`). Throws `BlobUnknownError` when it is not stored.
   */
  async sendTo(digest: Digest, offset: number, length: number, sink: Writable): Promise<void> {
    try {
      await this.storage.driver.sendTo(pathFor({ kind: 'blobData', digest }), offset, length, sink);
    } catch (error) {
      if (isNotFound(error)) throw new BlobUnknownError(digest.toString());
      throw error;
    }
  }

  /**
   * The whole content of a small blob (a manifest), or undefined when it is not stored. Remembered
   * by digest: the bytes are shared and must not be modified.
   */
  async getContent(digest: Digest): Promise<Buffer | undefined> {
    const key = digest.toString();
    const remembered = this.contents.get(key);
    if (remembered) return remembered;
    const read = (): Promise<Buffer | undefined> => this.storage.getContent(pathFor({ kind: 'blobData', digest }));
    const content = this.shared
      ? await readThrough(this.shared, GLOBAL_SCOPE, CacheField.content(key), (cached) => cached, read, (found) =>
          found && found.length <= SHARED_CONTENT_MAX_BYTES ? found : undefined,
        )
      : await read();
    if (content) this.contents.set(key, content);
    return content;
  }

  /** Stores small content (manifests, the empty blob) under its digest; atomic, idempotent. */
  async putContent(digest: Digest, content: Buffer): Promise<void> {
    await this.storage.driver.putContent(pathFor({ kind: 'blobData', digest }), content);
    this.contents.set(digest.toString(), content);
    this.descriptors?.set(digest.toString(), content.length);
  }

  /** A URL the client may fetch the blob from directly, if the driver gives one. */
  async redirectUrl(digest: Digest, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.storage.driver.redirectUrl(pathFor({ kind: 'blobData', digest }), method);
  }
}
