import { Readable } from 'node:stream';

/** Size of the blocks content is kept in: large enough for few allocations, small enough to share. */
export const BLOCK_SIZE = 1024 * 1024;

/**
 * Immutable bytes, kept as a list of blocks so that large files are never copied into one buffer.
 * A committed file's content never changes: an overwrite replaces the `Content`, so readers that
 * started on the old one finish on it.
 */
export class Content {
  static readonly EMPTY = new Content([], 0);

  private constructor(
    private readonly blocks: readonly Buffer[],
    readonly size: number,
  ) {}

  /** A private copy of `buffer` (callers may reuse theirs afterwards). */
  static copyOf(buffer: Buffer): Content {
    return buffer.length === 0 ? Content.EMPTY : new Content([Buffer.from(buffer)], buffer.length);
  }

  /** Wraps blocks the caller hands over and will never change again. */
  static adopt(blocks: readonly Buffer[], size: number): Content {
    return size === 0 ? Content.EMPTY : new Content(blocks, size);
  }

  /** A fresh buffer holding all the bytes. */
  toBuffer(): Buffer {
    return Buffer.concat(this.blocks as Buffer[], this.size);
  }

  /** A byte stream from `offset` (empty at or past the end); blocks are handed out without copying. */
  stream(offset: number): Readable {
    const blocks = this.blocks;
    function* from(): Generator<Buffer> {
      let skip = offset;
      for (const block of blocks) {
        if (skip >= block.length) {
          skip -= block.length;
          continue;
        }
        yield skip > 0 ? block.subarray(skip) : block;
        skip = 0;
      }
    }
    return Readable.from(from(), { objectMode: false });
  }
}

/** Bytes being appended by a writer: copied into blocks of `BLOCK_SIZE`, frozen into a `Content`. */
export class ContentBuilder {
  private readonly full: Buffer[] = [];
  private current: Buffer | undefined;
  private used = 0;
  private total = 0;

  get size(): number {
    return this.total;
  }

  /** Appends a copy of `chunk`. */
  append(chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length) {
      if (!this.current || this.used === this.current.length) {
        if (this.current) this.full.push(this.current);
        // A small first block for small uploads; full blocks once the upload is known to be large.
        const want = this.total === 0 ? Math.max(chunk.length - from, 64 * 1024) : BLOCK_SIZE;
        this.current = Buffer.allocUnsafe(Math.min(want, BLOCK_SIZE));
        this.used = 0;
      }
      const copied = chunk.copy(this.current, this.used, from);
      this.used += copied;
      from += copied;
      this.total += copied;
    }
  }

  /** The bytes appended so far, as immutable content. The builder must not be appended to afterwards. */
  freeze(): Content {
    const blocks = [...this.full];
    if (this.current && this.used > 0) {
      // Trim the last block; copy it when most of its allocation would otherwise be kept alive for nothing.
      const tail = this.current.subarray(0, this.used);
      blocks.push(this.used * 2 < this.current.length ? Buffer.from(tail) : tail);
    }
    return Content.adopt(blocks, this.total);
  }
}
