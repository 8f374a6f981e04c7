import type { Readable, Writable } from 'node:stream';
import type { FileInfo, FileWriter, StorageDriver, WalkFn } from './driver';
import { InvalidOffsetError, StorageDriverError } from './errors';
import { yieldIfDue } from './fairness';
import { assertValidPath } from './paths';
import { SinkClosedError } from './send';

/** One finished driver operation, for metrics and debug logs. */
export interface DriverOperation {
  readonly driver: string;
  readonly action: string;
  readonly durationMs: number;
  readonly error?: Error;
}

export interface WrapOptions {
  /** Called after every operation (success or failure). */
  readonly observe?: (operation: DriverOperation) => void;
  /**
   * Types a driver's own failures before the generic wrapping: returns the typed error (a
   * `StorageUnavailableError` for a store that cannot be reached, …) or undefined to leave it.
   */
  readonly classifyError?: (error: unknown) => StorageDriverError | undefined;
}

/** Wraps any error that is not already typed so that it carries the driver's name. */
export function normalizeError(driver: string, error: unknown, classify?: WrapOptions['classifyError']): StorageDriverError {
  if (error instanceof StorageDriverError) return error;
  const typed = classify?.(error);
  if (typed) return typed;
  const message = error instanceof Error ? error.message : String(error);
  return new StorageDriverError(driver, message, { cause: error });
}

/**
 * Wraps a driver implementation once: validates every path and offset before the driver sees it,
 * gives every error the driver's name (unknown ones become `StorageDriverError`, unless the driver's
 * `classifyError` types them), and reports each
 * operation's duration. Drivers implement only the happy path.
 *
 * It also keeps the event loop fair: an operation (or a walk's visit) that ends more than
 * `TURN_SLICE_MS` after the event loop last had a turn waits for one (`yieldIfDue`) before it
 * settles, so a caller looping over answers from memory cannot starve timers and I/O.
 */
export function wrapDriver(impl: StorageDriver, options: WrapOptions = {}): StorageDriver {
  const name = impl.name;
  const observe = options.observe;
  const classify = options.classifyError;

  async function run<T>(action: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await fn();
      observe?.({ driver: name, action, durationMs: performance.now() - started });
      const turn = yieldIfDue();
      if (turn) await turn;
      return result;
    } catch (error) {
      if (error instanceof SinkClosedError) {
        observe?.({ driver: name, action, durationMs: performance.now() - started });
        throw error;
      }
      const typed = normalizeError(name, error, classify);
      observe?.({ driver: name, action, durationMs: performance.now() - started, error: typed });
      const turn = yieldIfDue();
      if (turn) await turn;
      throw typed;
    }
  }

  function wrapWriter(writer: FileWriter): FileWriter {
    return {
      get size() {
        return writer.size;
      },
      write: (source) => run('Writer.write', () => writer.write(source)),
      close: () => run('Writer.close', () => writer.close()),
      commit: () => run('Writer.commit', () => writer.commit()),
      cancel: () => run('Writer.cancel', () => writer.cancel()),
    };
  }

  const wrapped: StorageDriver = {
    name,
    walksFlat: impl.walksFlat,
    getContent: (path) =>
      run('GetContent', async () => {
        assertValidPath(name, path);
        return impl.getContent(path);
      }),
    putContent: (path, content) =>
      run('PutContent', async () => {
        assertValidPath(name, path);
        return impl.putContent(path, content);
      }),
    reader: (path, offset = 0): Promise<Readable> =>
      run('Reader', async () => {
        assertValidPath(name, path);
        if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(name, path, offset);
        return impl.reader(path, offset);
      }),
    sendTo: (path, offset, length, sink: Writable): Promise<void> =>
      run('SendTo', async () => {
        assertValidPath(name, path);
        if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(name, path, offset);
        if (!Number.isSafeInteger(length) || length < 0) throw new InvalidOffsetError(name, path, offset + length);
        return impl.sendTo(path, offset, length, sink);
      }),
    writer: (path, append) =>
      run('Writer', async () => {
        assertValidPath(name, path);
        return wrapWriter(await impl.writer(path, append));
      }),
    stat: (path): Promise<FileInfo> =>
      run('Stat', async () => {
        assertValidPath(name, path, true);
        return impl.stat(path);
      }),
    list: (path) =>
      run('List', async () => {
        assertValidPath(name, path, true);
        return impl.list(path);
      }),
    move: (sourcePath, destPath) =>
      run('Move', async () => {
        assertValidPath(name, sourcePath);
        assertValidPath(name, destPath);
        return impl.move(sourcePath, destPath);
      }),
    delete: (path) =>
      run('Delete', async () => {
        assertValidPath(name, path);
        return impl.delete(path);
      }),
    redirectUrl: (path, method) =>
      run('RedirectURL', async () => {
        assertValidPath(name, path);
        return impl.redirectUrl(path, method);
      }),
    walk: (path, visit: WalkFn) =>
      run('Walk', async () => {
        assertValidPath(name, path, true);
        return impl.walk(path, async (info) => {
          const decision = await visit(info);
          const turn = yieldIfDue();
          if (turn) await turn;
          return decision;
        });
      }),
    close: () => run('Close', async () => impl.close?.()),
  };
  return wrapped;
}
