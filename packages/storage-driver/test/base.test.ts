import { Readable, Writable } from 'node:stream';
import {
  InvalidOffsetError,
  InvalidPathError,
  PathNotFoundError,
  SinkClosedError,
  StorageDriverError,
  StorageUnavailableError,
  normalizeError,
  wrapDriver,
  type DriverOperation,
  type FileWriter,
  type StorageDriver,
} from '@berth/storage-driver';

/**
 * The implementation side of the wrapper under test: records every call that reaches it and fails
 * with `failure` when one is set. It stands in for a driver only to observe what the wrapper lets through.
 */
class RecordingDriver implements StorageDriver {
  readonly name = 'recording';
  readonly calls: string[] = [];
  failure: unknown;
  writerSize = 0;

  private async record<T>(call: string, value: T): Promise<T> {
    this.calls.push(call);
    if (this.failure !== undefined) throw this.failure;
    return value;
  }

  getContent(path: string) {
    return this.record(`getContent ${path}`, Buffer.from('content'));
  }
  putContent(path: string) {
    return this.record(`putContent ${path}`, undefined);
  }
  reader(path: string, offset?: number) {
    return this.record(`reader ${path} ${offset}`, Readable.from([]));
  }
  sendTo(path: string, offset: number, length: number) {
    return this.record(`sendTo ${path} ${offset} ${length}`, undefined);
  }
  writer(path: string, append: boolean): Promise<FileWriter> {
    const size = () => this.writerSize;
    const writer: FileWriter = {
      get size() {
        return size();
      },
      write: () => this.record('Writer.write', 1),
      close: () => this.record('Writer.close', undefined),
      commit: () => this.record('Writer.commit', undefined),
      cancel: () => this.record('Writer.cancel', undefined),
    };
    return this.record(`writer ${path} ${append}`, writer);
  }
  stat(path: string) {
    return this.record(`stat ${path}`, { path, size: 0, modTime: new Date(0), isDir: true });
  }
  list(path: string) {
    return this.record(`list ${path}`, []);
  }
  move(from: string, to: string) {
    return this.record(`move ${from} ${to}`, undefined);
  }
  delete(path: string) {
    return this.record(`delete ${path}`, undefined);
  }
  redirectUrl(path: string, method: string) {
    return this.record(`redirectUrl ${path} ${method}`, undefined);
  }
  walk(path: string) {
    return this.record(`walk ${path}`, undefined);
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('wrapDriver', () => {
  let impl: RecordingDriver;
  let operations: DriverOperation[];
  let driver: StorageDriver;

  beforeEach(() => {
    impl = new RecordingDriver();
    operations = [];
    driver = wrapDriver(impl, { observe: (operation) => operations.push(operation) });
  });

  it('keeps the implementation name and passes valid calls through', async () => {
    expect(driver.name).toBe('recording');
    expect((await driver.getContent('/a/b')).toString()).toBe('content');
    await driver.reader('/a');
    await driver.move('/a', '/b');
    await driver.stat('/');
    await driver.list('/');
    await driver.walk('/', () => undefined);
    expect(impl.calls).toEqual(['getContent /a/b', 'reader /a 0', 'move /a /b', 'stat /', 'list /', 'walk /']);
  });

  it('rejects invalid paths before the implementation sees them, with the driver name', async () => {
    const attempts: Array<Promise<unknown>> = [
      driver.getContent('a'),
      driver.putContent('/a/', Buffer.alloc(0)),
      driver.reader('/../x', 0),
      driver.sendTo('/a/../b', 0, 1, new Writable()),
      driver.writer('//a', false),
      driver.stat(''),
      driver.list('/a//b'),
      driver.move('/a', '/b/..'),
      driver.move('/./a', '/b'),
      driver.delete('/'),
      driver.redirectUrl('/', 'GET'),
      driver.getContent('/'),
      driver.walk('/a b', () => undefined),
    ];
    for (const attempt of attempts) {
      const error = await rejection(attempt);
      expect(error).toBeInstanceOf(InvalidPathError);
      expect(error).toMatchObject({ driver: 'recording' });
    }
    expect(impl.calls).toEqual([]);
  });

  it('rejects negative, fractional and unsafe offsets with InvalidOffsetError', async () => {
    for (const offset of [-1, 0.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) {
      const error = await rejection(driver.reader('/a', offset));
      expect(error).toBeInstanceOf(InvalidOffsetError);
      expect(error).toMatchObject({ driver: 'recording', path: '/a', offset });
      expect(await rejection(driver.sendTo('/a', offset, 1, new Writable()))).toBeInstanceOf(InvalidOffsetError);
      expect(await rejection(driver.sendTo('/a', 0, offset, new Writable()))).toBeInstanceOf(InvalidOffsetError);
    }
    expect(impl.calls).toEqual([]);
  });

  it('passes a closed sink through as SinkClosedError and does not count it as a failed operation', async () => {
    const closed = new SinkClosedError();
    impl.failure = closed;
    expect(await rejection(driver.sendTo('/a', 0, 1, new Writable()))).toBe(closed);
    expect(operations.at(-1)?.action).toBe('SendTo');
    expect(operations.at(-1)?.error).toBeUndefined();
  });

  it('passes typed driver errors through unchanged', async () => {
    const typed = new PathNotFoundError('recording', '/a');
    impl.failure = typed;
    expect(await rejection(driver.getContent('/a'))).toBe(typed);
  });

  it('turns any other failure into a StorageDriverError naming the driver, keeping the cause', async () => {
    const cause = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    impl.failure = cause;
    const error = await rejection(driver.putContent('/a', Buffer.from('x')));
    expect(error).toBeInstanceOf(StorageDriverError);
    expect(error).toMatchObject({ driver: 'recording', code: 'STORAGE_DRIVER_ERROR', message: 'recording: EACCES: permission denied' });
    expect((error as Error).cause).toBe(cause);
    impl.failure = 'a string';
    expect(await rejection(driver.list('/'))).toMatchObject({ message: 'recording: a string' });
  });

  it("types failures with the driver's classifyError first (StorageUnavailableError for a refused connection), and wraps what it leaves", async () => {
    const classified = wrapDriver(impl, {
      classifyError: (error) =>
        (error as { code?: string }).code === 'ECONNREFUSED' ? new StorageUnavailableError('recording', 'refused', { cause: error }) : undefined,
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    impl.failure = refused;
    const error = await rejection(classified.stat('/a'));
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', driver: 'recording' });
    expect((error as Error).cause).toBe(refused);
    impl.failure = new Error('other');
    const other = await rejection(classified.stat('/a'));
    expect(other).toBeInstanceOf(StorageDriverError);
    expect(other).not.toBeInstanceOf(StorageUnavailableError);
  });

  it('wraps writers: size stays live and their failures are named too', async () => {
    const writer = await driver.writer('/upload', true);
    impl.writerSize = 42;
    expect(writer.size).toBe(42);
    await writer.write(Buffer.from('x'));
    await writer.close();
    impl.failure = new Error('disk full');
    const error = await rejection(writer.commit());
    expect(error).toBeInstanceOf(StorageDriverError);
    expect(error).toMatchObject({ driver: 'recording', message: 'recording: disk full' });
    expect(impl.calls).toEqual(['writer /upload true', 'Writer.write', 'Writer.close', 'Writer.commit']);
  });

  it('reports every operation, successful or failed, to the observe hook', async () => {
    await driver.getContent('/a');
    await rejection(driver.getContent('bad'));
    impl.failure = new Error('boom');
    await rejection(driver.delete('/a'));
    expect(operations.map(({ action, driver: name, error }) => [action, name, error?.constructor.name])).toEqual([
      ['GetContent', 'recording', undefined],
      ['GetContent', 'recording', 'InvalidPathError'],
      ['Delete', 'recording', 'StorageDriverError'],
    ]);
    for (const operation of operations) expect(operation.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('closes an implementation that has no close method', async () => {
    await expect(driver.close?.()).resolves.toBeUndefined();
  });
});

describe('normalizeError', () => {
  it('keeps StorageDriverErrors and wraps everything else', () => {
    const typed = new InvalidPathError('x', 'p');
    expect(normalizeError('y', typed)).toBe(typed);
    const wrapped = normalizeError('y', new TypeError('bad'));
    expect(wrapped).toBeInstanceOf(StorageDriverError);
    expect(wrapped.message).toBe('y: bad');
  });
});
