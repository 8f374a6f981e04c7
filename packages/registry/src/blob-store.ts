import type { Readable, Writable } from 'node:stream';
import { ContentCache } from './content-cache';
import type { Digest } from './digest';
import { BlobUnknownError } from './errors';
import { pathFor } from './paths';
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

  constructor(private readonly storage: Storage) {}

  /** The blob's size, or undefined when it is not stored. */
  async stat(digest: Digest): Promise<BlobDescriptor | undefined> {
    const info = await this.storage.stat(pathFor({ kind: 'blobData', digest }));
    if (!info || info.isDir) return undefined;
    return { digest, size: info.size };
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
    const content = await this.storage.getContent(pathFor({ kind: 'blobData', digest }));
    if (content) this.contents.set(key, content);
    return content;
  }

  /** Stores small content (manifests, the empty blob) under its digest; atomic, idempotent. */
  async putContent(digest: Digest, content: Buffer): Promise<void> {
    await this.storage.driver.putContent(pathFor({ kind: 'blobData', digest }), content);
    this.contents.set(digest.toString(), content);
  }

  /** A URL the client may fetch the blob from directly, if the driver gives one. */
  async redirectUrl(digest: Digest, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.storage.driver.redirectUrl(pathFor({ kind: 'blobData', digest }), method);
  }
}
