import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { DriverParameterError, InvalidPathError, StorageDriverError, type StorageDriver } from '@berth/storage-driver';
import { FilesystemDriver, filesystemDriverFactory, readParameters } from '@berth/driver-filesystem';

let root: string;
let driver: StorageDriver;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-fs-'));
  driver = await filesystemDriverFactory.create({ rootdirectory: join(root, 'store') }, {});
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('filesystem driver: layout and atomicity', () => {
  it('stores driver path /a/b as the file <rootdirectory>/a/b', async () => {
    await driver.putContent('/docker/registry/v2/blob', Buffer.from('bytes'));
    expect(await readFile(join(root, 'store/docker/registry/v2/blob'), 'utf8')).toBe('bytes');
  });

  it('never lets a reader see a half-written file while putContent replaces it again and again', async () => {
    const versions = [Buffer.alloc(4 * 1024 * 1024, 0x61), Buffer.alloc(1024 * 1024, 0x62), Buffer.alloc(3, 0x63)];
    const file = join(root, 'store/hot/file');
    await driver.putContent('/hot/file', versions[0]);
    let writing = true;
    const writes = (async () => {
      try {
        for (let i = 1; i <= 40; i++) await driver.putContent('/hot/file', versions[i % versions.length]);
      } finally {
        writing = false;
      }
    })();
    let reads = 0;
    const readers = Array.from({ length: 3 }, async () => {
      do {
        const [viaDriver, viaDisk] = await Promise.all([driver.getContent('/hot/file'), readFile(file)]);
        expect(versions.some((v) => v.equals(viaDriver))).toBe(true);
        expect(versions.some((v) => v.equals(viaDisk))).toBe(true);
        reads++;
      } while (writing);
    });
    // Wait for every loop (a failed reader must not leave the writer running into the next test).
    for (const outcome of await Promise.allSettled([writes, ...readers])) if (outcome.status === 'rejected') throw outcome.reason;
    expect(reads).toBeGreaterThan(3);
  });

  it('hides temporary files and entries whose names are outside the path grammar from list and walk', async () => {
    await driver.putContent('/dir/kept', Buffer.from('x'));
    const dir = join(root, 'store/dir');
    await writeFile(join(dir, '.berth~0123abcd.tmp'), 'left by a crash');
    await writeFile(join(dir, 'with space'), 'foreign');
    await mkdir(join(dir, 'lost+found'));
    expect(await driver.list('/dir')).toEqual(['/dir/kept']);
    const walked: string[] = [];
    await driver.walk('/', (info) => {
      walked.push(info.path);
    });
    expect(walked).toEqual(['/dir', '/dir/kept']);
    await driver.delete('/dir');
    expect(existsSync(dir)).toBe(false);
  });

  it('never lists the temporary file of a put in progress', async () => {
    const big = Buffer.alloc(32 * 1024 * 1024, 1);
    let putting = true;
    const put = driver.putContent('/busy/big', big).finally(() => {
      putting = false;
    });
    const seen = new Set<string>();
    while (putting) {
      for (const path of await driver.list('/busy').catch(() => [])) seen.add(path);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await put;
    expect([...seen].filter((path) => path !== '/busy/big')).toEqual([]);
  });

  it('leaves no temporary file behind when a put fails (the target is a directory)', async () => {
    await driver.putContent('/a/dir/file', Buffer.from('x'));
    await expect(driver.putContent('/a/dir', Buffer.from('y'))).rejects.toBeInstanceOf(StorageDriverError);
    expect(await readdir(join(root, 'store/a'))).toEqual(['dir']);
  });

  it("shows a writer's bytes at its path before commit, and a new driver on the same root resumes them", async () => {
    const writer = await driver.writer('/uploads/1/data', false);
    await writer.write(Buffer.from('first half,'));
    await writer.close();
    expect((await driver.stat('/uploads/1/data')).size).toBe(11);

    const restarted = await filesystemDriverFactory.create({ rootdirectory: join(root, 'store') }, {});
    const resumed = await restarted.writer('/uploads/1/data', true);
    expect(resumed.size).toBe(11);
    await resumed.write(Buffer.from(' second half'));
    await resumed.commit();
    expect((await driver.getContent('/uploads/1/data')).toString()).toBe('first half, second half');
  });
});

describe('filesystem driver: remembered files', () => {
  it('remembers a small file in memory of its own, not in a slice of Node’s buffer pool that would keep 8 KiB alive per entry', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-fs-remember-'));
    try {
      let now = Date.now();
      const driver = new FilesystemDriver(root, 4, { now: () => now });
      await driver.putContent('/link', Buffer.from('sha256:' + 'a'.repeat(64)));
      now += 60_000; // past the settle time: the next read is remembered
      expect((await driver.getContent('/link')).length).toBe(71);
      const entries = (driver as unknown as { contents: { entries: Map<string, { value: Buffer; weight: number }> } }).contents.entries;
      const [entry] = [...entries.values()];
      expect(entry?.value.buffer.byteLength).toBe(71);
      expect(entry?.weight).toBeGreaterThan(71 + 2 * join(root, 'link').length); // the path and the entry count too
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('filesystem driver: confinement to the root', () => {
  it('rejects escaping paths at the wrapper with InvalidPathError', async () => {
    await expect(driver.putContent('/../escape', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidPathError);
    await expect(driver.move('/a', '/../../escape')).rejects.toBeInstanceOf(InvalidPathError);
    expect(existsSync(join(root, 'escape'))).toBe(false);
  });

  it('refuses, even unwrapped, any path that resolves outside the root', async () => {
    const unwrapped = new FilesystemDriver(join(root, 'store'), 100);
    expect(() => unwrapped.resolvePath('/../escape')).toThrow(StorageDriverError);
    expect(() => unwrapped.resolvePath('/a/../../escape')).toThrow(/outside the root directory/);
    await expect(unwrapped.putContent('/../escape', Buffer.from('x'))).rejects.toThrow(/outside the root directory/);
    await expect(unwrapped.delete('/..')).rejects.toThrow(/outside the root directory/);
    expect(existsSync(join(root, 'escape'))).toBe(false);
    expect(existsSync(join(root, 'store'))).toBe(true);
    expect(unwrapped.resolvePath('/')).toBe(join(root, 'store'));
    expect(unwrapped.resolvePath('/a/b')).toBe(join(root, 'store/a/b'));
  });
});

describe('filesystem driver: parameters', () => {
  it('creates a missing root directory, with its parents', async () => {
    const deep = join(root, 'not/yet/there');
    const created = await filesystemDriverFactory.create({ rootdirectory: deep }, {});
    expect(existsSync(deep)).toBe(true);
    expect(await created.list('/')).toEqual([]);
  });

  it('resolves a relative rootdirectory against the working directory', async () => {
    const target = join(root, 'relative-root');
    const created = await filesystemDriverFactory.create({ rootdirectory: relative(process.cwd(), target) }, {});
    await created.putContent('/file', Buffer.from('here'));
    expect(await readFile(join(target, 'file'), 'utf8')).toBe('here');
  });

  it('defaults to /var/lib/registry and 100 threads, and reads numbers given as strings', () => {
    expect(readParameters({})).toEqual({ rootDirectory: '/var/lib/registry', maxThreads: 100 });
    expect(readParameters({ rootdirectory: '', maxthreads: '' })).toEqual({ rootDirectory: '/var/lib/registry', maxThreads: 100 });
    expect(readParameters({ rootdirectory: '/srv/reg', maxthreads: '25' })).toEqual({ rootDirectory: '/srv/reg', maxThreads: 25 });
  });

  it.each([
    [{ maxthreads: 24 }, 'maxthreads'],
    [{ maxthreads: 'many' }, 'maxthreads'],
    [{ maxthreads: 30.5 }, 'maxthreads'],
    [{ rootdirectory: { nested: true } }, 'rootdirectory'],
    [{ rootdir: '/tmp' }, 'rootdir'],
  ])('rejects %j with a DriverParameterError naming %s', (parameters, key) => {
    let error: unknown;
    try {
      filesystemDriverFactory.validate(parameters);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DriverParameterError);
    expect(error).toMatchObject({ driver: 'filesystem', key });
    expect((error as Error).message).toContain(`storage.filesystem.${key}`);
  });

  it('rejects a rootdirectory that is a file, naming the key', async () => {
    const file = join(root, 'a-file');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, 'not a directory');
    await expect(filesystemDriverFactory.create({ rootdirectory: file }, {})).rejects.toMatchObject({
      name: 'DriverParameterError',
      key: 'rootdirectory',
    });
  });
});
