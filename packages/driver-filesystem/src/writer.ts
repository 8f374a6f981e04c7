import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { StorageDriverError, type FileWriter } from '@berth/storage-driver';
import { errorCode, syncDirectory, writeFully } from './files';

/** Chunks of a stream are gathered into writes of at least this many bytes (one `writev` each). */
export const WRITE_BATCH_BYTES = 1024 * 1024;

type WriterState = 'open' | 'closed' | 'committed' | 'cancelled';

/**
 * Appends to the file at the writer's path, opened for writing by the driver (truncated for a new
 * write, in append mode to resume one). As in distribution, the bytes are at the path while being
 * written; callers that must not expose partial content write to a staging path and `move` it.
 * `close` only closes: the bytes are in the kernel, visible to every process that resumes the write.
 * It does not fsync, so a PATCH does not wait for the disk: an unfinished upload that a machine
 * crash truncated or zero-filled fails its digest check at commit (the hash is then recomputed
 * from storage, as the hashing process is gone). `commit` fsyncs the file and its directory.
 * `cancel` removes the file.
 */
export class FilesystemWriter implements FileWriter {
  private state: WriterState = 'open';
  private written: number;

  constructor(
    private readonly driver: string,
    private readonly path: string,
    private readonly fullPath: string,
    private readonly handle: FileHandle,
    initialSize: number,
  ) {
    this.written = initialSize;
  }

  get size(): number {
    return this.written;
  }

  async write(source: Readable | Buffer): Promise<number> {
    this.assertOpen();
    if (Buffer.isBuffer(source)) {
      await writeFully(this.handle, [source]);
      this.written += source.length;
      return source.length;
    }
    // One batch is written while the next one is read from the source: at most two batches are
    // held, and the file is still written strictly in order (a write starts when the previous ended).
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let appended = 0;
    let inFlight: Promise<void> = Promise.resolve();
    const flush = async (): Promise<void> => {
      const buffers = batch;
      const bytes = batchBytes;
      batch = [];
      batchBytes = 0;
      await inFlight;
      inFlight = writeFully(this.handle, buffers).then(() => {
        this.written += bytes;
        appended += bytes;
      });
      // Reported by the next `await inFlight`, not as an unhandled rejection meanwhile.
      inFlight.catch(() => undefined);
    };
    try {
      for await (const chunk of source) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
        batch.push(buffer);
        batchBytes += buffer.length;
        if (batchBytes >= WRITE_BATCH_BYTES) await flush();
      }
    } catch (error) {
      // Keep what arrived before the source failed, so `size` tells the caller where to resume.
      await inFlight.catch(() => undefined);
      if (batchBytes > 0) await flush().catch(() => undefined);
      await inFlight.catch(() => undefined);
      throw error;
    }
    if (batchBytes > 0) await flush();
    await inFlight;
    return appended;
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closed';
    await this.handle.close();
  }

  async commit(): Promise<void> {
    this.assertOpen();
    this.state = 'committed';
    try {
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
    await syncDirectory(dirname(this.fullPath));
  }

  async cancel(): Promise<void> {
    if (this.state === 'committed') throw new StorageDriverError(this.driver, `cannot cancel the committed write to ${this.path}`);
    if (this.state === 'open') await this.handle.close();
    this.state = 'cancelled';
    try {
      await fs.unlink(this.fullPath);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new StorageDriverError(this.driver, `the writer for ${this.path} is ${this.state}`);
  }
}
