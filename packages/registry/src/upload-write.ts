import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream';
import type { FileWriter, StorageDriver } from '@berth/storage-driver';
import { Digest, HashingStream, type DigestAlgorithm } from './digest';
import { RangeInvalidError, SizeInvalidError } from './errors';
import { UploadHashCache } from './upload-hash-cache';

/** What the client said about a chunk. */
export interface ChunkOptions {
  /** Offset the chunk starts at (from `Content-Range`); must equal the session's current size. */
  readonly start?: number;
  /** Exact number of bytes the chunk must have (from `Content-Range`). */
  readonly length?: number;
  /**
   * Aborted when the client went away (the API aborts it when the request closes before its body
   * ended): a chunk not started yet is not written, one streaming is cut and its writer closed.
   */
  readonly signal?: AbortSignal;
}

/**
 * Streams `body` through the session's running hash into `writer` (never buffering it whole) and
 * records the new hash offset. The hash state is trusted later only if its offset equals the stored
 * size, so a write that fails half-way (client abort, storage error) cannot poison a digest.
 */
export async function writeChunk(
  cache: UploadHashCache,
  id: string,
  writer: FileWriter,
  body: Readable,
  options: ChunkOptions,
): Promise<void> {
  const size = writer.size;
  if (options.start !== undefined && options.start !== size) {
    body.resume();
    throw new RangeInvalidError(`chunk starts at byte ${options.start} but the upload holds ${size} bytes`, { uploadSize: size });
  }
  options.signal?.throwIfAborted();
  let state = cache.get(id, size);
  if (!state && size === 0) state = UploadHashCache.fresh(cache.algorithmOf(id) ?? 'sha256');
  // Out of the cache while bytes stream into it: its hash covers more than its offset says, so
  // nobody (another process asking `digestAt`) may take a digest from it until it is put back.
  cache.delete(id);
  const hashing = new HashingStream(state?.hash);
  // `finished` also reports a body that failed or closed before this point (a client gone while the
  // session lock or the writer was awaited), which an 'error' listener added now would never hear
  // of: the write then ends at once instead of waiting forever with the writer open and the session
  // locked. The signal cuts a body whose client left without the stream saying so.
  const stopWatching = finished(body, (error) => {
    if (error) hashing.destroy(error);
  });
  const abort = (): void => void hashing.destroy(options.signal?.reason as Error);
  options.signal?.addEventListener('abort', abort, { once: true });
  body.pipe(hashing);
  try {
    await writer.write(hashing);
  } catch (error) {
    // A storage failure leaves the body unread: it is drained (not hashed) so that the error can
    // still be answered on the connection.
    body.unpipe(hashing);
    if (!body.destroyed) body.resume();
    throw error;
  } finally {
    stopWatching();
    options.signal?.removeEventListener('abort', abort);
    if (state) {
      state.offset = size + hashing.bytes;
      cache.set(id, state);
    } else {
      cache.delete(id);
    }
  }
  if (options.length !== undefined && hashing.bytes !== options.length) {
    throw new SizeInvalidError(`chunk has ${hashing.bytes} bytes but its range announced ${options.length}`, {
      received: hashing.bytes,
      expected: options.length,
    });
  }
}

/**
 * Hashes committed upload data read back from storage (distribution's non-resumable digest mode).
 * Throws when storage holds a different number of bytes than the session reported.
 */
export async function rehashUpload(driver: StorageDriver, path: string, algorithm: DigestAlgorithm, size: number): Promise<Digest> {
  const hash = createHash(algorithm);
  let bytes = 0;
  const stream = await driver.reader(path, 0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  if (bytes !== size) throw new Error(`upload data at ${path} holds ${bytes} bytes, the writer reported ${size}`);
  return Digest.of(algorithm, hash.digest('hex'));
}
