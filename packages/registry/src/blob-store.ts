import type { Readable } from 'node:stream';
import type { Digest } from './digest';
import { BlobUnknownError } from './errors';
import { pathFor } from './paths';
import { isNotFound, type Storage } from './storage';

/** A blob as the API describes it. */
export interface BlobDescriptor {
  readonly digest: Digest;
  readonly size: number;
}

/**
 * The global, content-addressed blob store (`blobs/<alg>/<xx>/<hex>/data`). It knows nothing about
 * repositories: visibility in a repository is the `_layers` link (see `BlobService`).
 */
export class BlobStore {
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

  /** The whole content of a small blob (a manifest), or undefined when it is not stored. */
  async getContent(digest: Digest): Promise<Buffer | undefined> {
    return this.storage.getContent(pathFor({ kind: 'blobData', digest }));
  }

  /** Stores small content (manifests, the empty blob) under its digest; atomic, idempotent. */
  async putContent(digest: Digest, content: Buffer): Promise<void> {
    await this.storage.driver.putContent(pathFor({ kind: 'blobData', digest }), content);
  }

  /** A URL the client may fetch the blob from directly, if the driver gives one. */
  async redirectUrl(digest: Digest, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.storage.driver.redirectUrl(pathFor({ kind: 'blobData', digest }), method);
  }
}
