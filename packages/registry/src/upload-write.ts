import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
  try {
    // `pipeline` sees a body that already failed or closed early (a client gone while the session
    // lock or the writer was awaited) and destroys `hashing` then, so the write always ends; both
    // are awaited so the writer is idle (its last batch written) before the caller closes it.
    const [piped, written] = await Promise.allSettled([
      pipeline(body, hashing, options.signal ? { signal: options.signal } : {}),
      writer.write(hashing),
    ]);
    // The body's own failure (client reset, abort) first; a premature close of the pipeline is
    // what the writer's failure (storage error) caused, so the writer's error is the one to report.
    if (piped.status === 'rejected' && (piped.reason as { code?: unknown }).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw piped.reason;
    if (written.status === 'rejected') throw written.reason;
    if (piped.status === 'rejected') throw piped.reason;
  } finally {
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
