import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';

/**
 * Passes chunks through but holds the latest one back until `verdict` settles: fulfilled, the held
 * chunk goes out and the stream ends; rejected, the stream errors and the held chunk is never sent.
 * So a reader never receives the complete bytes of something that failed verification.
 */
class HeldTail extends Transform {
  private held: Buffer | undefined;

  constructor(private readonly verdict: Promise<void>) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const previous = this.held;
    this.held = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    this.verdict.then(
      () => callback(null, this.held),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }
}

/** Why the store side of a tee stops when the reader went away. */
export class ReaderGoneError extends Error {
  constructor() {
    super('the reader went away before the end: nothing is stored');
    this.name = 'ReaderGoneError';
  }
}

/**
 * Reads `source` once and feeds it to two sides at the pace of the slower one (bounded memory):
 * `store` consumes one copy and settles its promise when the content is verified and committed;
 * the returned `reader` carries the other copy and ends only after `store` succeeded (see
 * `HeldTail`). Failures cross over: the source failing fails both sides; `store` failing fails the
 * reader; the reader being destroyed before its end (a client abort) destroys the source and fails
 * the store side with `ReaderGoneError`. `stored` settles like `store`'s promise.
 */
export function verifiedTee(source: Readable, store: (copy: Readable) => Promise<void>): { reader: Readable; stored: Promise<void> } {
  const copy = new PassThrough();
  const stored = store(copy);
  const reader = new HeldTail(stored);
  let ended = false;
  reader.once('end', () => (ended = true));
  source.once('error', (error) => {
    copy.destroy(error);
    reader.destroy(error);
  });
  stored.catch((error: unknown) => {
    if (!source.destroyed) source.destroy();
    if (!reader.destroyed) reader.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  reader.once('close', () => {
    if (ended) return;
    if (!source.destroyed) source.destroy();
    if (!copy.destroyed) copy.destroy(new ReaderGoneError());
  });
  source.pipe(copy);
  source.pipe(reader);
  return { reader, stored };
}
