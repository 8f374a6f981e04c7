import type { Readable, Writable } from 'node:stream';
import type { BlobDescriptor } from './blob-store';
import type { RepositoryContext } from './context';
import type { Digest } from './digest';
import { BlobUnknownError } from './errors';
import { pathFor } from './paths';
import { CacheField, invalidating, readThrough } from './shared-cache';
import { assertWritable } from './write-policy';

/**
 * The blobs of one repository: a global blob is visible here only through the repository's
 * `_layers/<alg>/<hex>/link` (distribution's linked blob store).
 */
export class BlobService {
  constructor(private readonly ctx: RepositoryContext) {}

  /** True when the blob is linked into this repository (its data may still have been collected). */
  async isLinked(digest: Digest): Promise<boolean> {
    const read = async (): Promise<boolean> => {
      const linked = await this.ctx.storage.readLink(pathFor({ kind: 'layerLink', name: this.ctx.name, digest }));
      return linked !== undefined && linked.equals(digest);
    };
    return readThrough(this.ctx.shared, this.ctx.name, CacheField.layer(digest.toString()), () => true, read, (linked) => (linked ? '1' : undefined));
  }

  /** Size of a blob visible in this repository; throws `BlobUnknownError` otherwise. */
  async stat(digest: Digest): Promise<BlobDescriptor> {
    if (!(await this.isLinked(digest))) throw new BlobUnknownError(digest.toString());
    const descriptor = await this.ctx.blobStore.describe(digest);
    if (!descriptor) throw new BlobUnknownError(digest.toString());
    return descriptor;
  }

  /** A stream of the blob from `offset` (call `stat` first for the size and visibility check). */
  async open(digest: Digest, offset = 0): Promise<Readable> {
    return this.ctx.blobStore.reader(digest, offset);
  }

  /** Writes `length` bytes of the blob from `offset` to `sink`, not ending it (call `stat` first). */
  async sendTo(digest: Digest, offset: number, length: number, sink: Writable): Promise<void> {
    return this.ctx.blobStore.sendTo(digest, offset, length, sink);
  }

  /** A direct URL for the blob when the driver offers one. */
  async redirectUrl(digest: Digest, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.ctx.blobStore.redirectUrl(digest, method);
  }

  /** Makes a stored blob visible in this repository (idempotent). */
  async link(digest: Digest): Promise<void> {
    assertWritable(this.ctx.writes, 'push');
    await this.ctx.storage.writeLink(pathFor({ kind: 'layerLink', name: this.ctx.name, digest }), digest);
  }

  /**
   * Cross-repository mount: links `digest` here when repository `from` has it. Resolves with the
   * blob, or undefined when `from` cannot provide it (the caller then starts a normal upload).
   */
  async mount(digest: Digest, from: BlobService): Promise<BlobDescriptor | undefined> {
    let descriptor: BlobDescriptor;
    try {
      descriptor = await from.stat(digest);
    } catch (error) {
      if (error instanceof BlobUnknownError) return undefined;
      throw error;
    }
    await this.link(digest);
    this.ctx.logger.debug('blob mounted', { repository: this.ctx.name, digest: digest.toString() });
    return descriptor;
  }

  /**
   * Unlinks the blob from this repository (the data stays until garbage collection). Needs
   * the write policy to allow deletes (`UnsupportedError`); throws `BlobUnknownError` when it is not linked here.
   */
  async delete(digest: Digest): Promise<void> {
    assertWritable(this.ctx.writes, 'delete');
    const removed = await invalidating(this.ctx.shared, this.ctx.name, () =>
      this.ctx.storage.deleteIfExists(pathFor({ kind: 'layerDir', name: this.ctx.name, digest })),
    );
    if (!removed) throw new BlobUnknownError(digest.toString());
  }
}
