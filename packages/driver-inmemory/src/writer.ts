import type { Readable } from 'node:stream';
import { StorageDriverError, type FileWriter } from '@berth/storage-driver';
import { ContentBuilder } from './content';

/** An unfinished write: its bytes are invisible at the path until a writer commits them. */
export class Upload {
  readonly builder = new ContentBuilder();
}

/** What a writer needs from its driver: whether its upload is still the live one, and how to finish it. */
export interface UploadHost {
  readonly name: string;
  isLive(path: string, upload: Upload): boolean;
  commitUpload(path: string, upload: Upload): void;
  discardUpload(path: string, upload: Upload): void;
}

type WriterState = 'open' | 'closed' | 'committed' | 'cancelled';

/**
 * One writer instance over an `Upload`. Several instances may resume the same upload one after the
 * other (`writer(path, true)`); an instance whose upload was replaced (`writer(path, false)`),
 * committed, cancelled or deleted by someone else refuses to write.
 */
export class InMemoryWriter implements FileWriter {
  private state: WriterState = 'open';

  constructor(
    private readonly host: UploadHost,
    private readonly path: string,
    private readonly upload: Upload,
  ) {}

  get size(): number {
    return this.upload.builder.size;
  }

  async write(source: Readable | Buffer): Promise<number> {
    this.assertWritable();
    if (Buffer.isBuffer(source)) {
      this.upload.builder.append(source);
      return source.length;
    }
    let written = 0;
    for await (const chunk of source) {
      this.assertWritable();
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      this.upload.builder.append(buffer);
      written += buffer.length;
    }
    return written;
  }

  async close(): Promise<void> {
    if (this.state === 'open') this.state = 'closed';
  }

  async commit(): Promise<void> {
    this.assertWritable();
    this.host.commitUpload(this.path, this.upload);
    this.state = 'committed';
  }

  async cancel(): Promise<void> {
    if (this.state === 'committed') throw new StorageDriverError(this.host.name, `cannot cancel the committed write to ${this.path}`);
    if (this.host.isLive(this.path, this.upload)) this.host.discardUpload(this.path, this.upload);
    this.state = 'cancelled';
  }

  private assertWritable(): void {
    if (this.state !== 'open') throw new StorageDriverError(this.host.name, `the writer for ${this.path} is ${this.state}`);
    if (!this.host.isLive(this.path, this.upload)) {
      throw new StorageDriverError(this.host.name, `the write to ${this.path} was replaced, finished or deleted by another writer`);
    }
  }
}
