import type { Readable, Writable } from 'node:stream';
import { StorageDriverError } from './errors';

/**
 * The sink of a `sendTo` failed or closed before the last byte (a client that went away, most
 * often). Not a storage failure: `wrapDriver` passes it through untouched and does not count it as
 * a failed operation. `cause` is the sink's own error, if it gave one.
 */
export class SinkClosedError extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
  constructor(options?: { cause?: unknown }) {
    super('the sink closed before the last byte was sent', options);
    this.name = 'SinkClosedError';
  }
}

/**
 * Waits for `sink` to take a write: resolves with `settle(resolve)`'s outcome, rejects with
 * `SinkClosedError` when the sink fails or closes first.
 */
function untilSink(sink: Writable, settle: (done: (error?: Error | null) => void) => void): Promise<void> {
  if (sink.destroyed || sink.writableEnded) return Promise.reject(new SinkClosedError());
  return new Promise((resolve, reject) => {
    const onClose = (): void => finish(new SinkClosedError());
    const onError = (error: Error): void => finish(new SinkClosedError({ cause: error }));
    let settled = false;
    const finish = (error?: Error | null): void => {
      if (settled) return;
      settled = true;
      sink.off('close', onClose);
      sink.off('error', onError);
      if (error) reject(error instanceof SinkClosedError ? error : new SinkClosedError({ cause: error }));
      else resolve();
    };
    sink.once('close', onClose);
    sink.once('error', onError);
    settle(finish);
  });
}

/** Writes `chunk` and resolves once `sink` has accepted it (its write callback): `chunk` may be reused then. */
export function writeAccepted(sink: Writable, chunk: Buffer): Promise<void> {
  return untilSink(sink, (done) => sink.write(chunk, done));
}

/** Resolves when `sink` wants more (`drain`). */
function drained(sink: Writable): Promise<void> {
  return untilSink(sink, (done) => sink.once('drain', () => done()));
}

/**
 * `sendTo` over a `reader` stream that starts at the wanted offset: copies `length` bytes to `sink`
 * with its back-pressure, then destroys the stream. For drivers whose streams hand out fresh
 * buffers anyway (S3, in-memory).
 */
export async function pipeReader(driver: string, path: string, source: Readable, length: number, sink: Writable): Promise<void> {
  let remaining = length;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (remaining === 0) break;
      const part = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
      remaining -= part.length;
      if (remaining === 0) await writeAccepted(sink, part);
      else if (!sink.write(part)) await drained(sink);
    }
  } finally {
    source.destroy();
  }
  if (remaining > 0) throw new StorageDriverError(driver, `${path} ended ${remaining} bytes before the range asked for`);
}
