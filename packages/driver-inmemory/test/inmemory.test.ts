import { DriverParameterError, InvalidPathError, PathNotFoundError, StorageDriverError, type StorageDriver } from '@berth/storage-driver';
import { createInMemoryDriver, inmemoryDriverFactory } from '@berth/driver-inmemory';

let driver: StorageDriver;
beforeEach(() => {
  driver = createInMemoryDriver();
});

describe('inmemory factory', () => {
  it('creates an empty, wrapped driver named inmemory', async () => {
    const created = await inmemoryDriverFactory.create({}, {});
    expect(inmemoryDriverFactory.name).toBe('inmemory');
    expect(created.name).toBe('inmemory');
    expect(await created.list('/')).toEqual([]);
    await expect(created.getContent('relative')).rejects.toBeInstanceOf(InvalidPathError);
  });

  it('rejects any parameter, naming it', async () => {
    expect(() => inmemoryDriverFactory.validate({})).not.toThrow();
    expect(() => inmemoryDriverFactory.validate({ rootdirectory: '/x' })).toThrow(DriverParameterError);
    await expect(inmemoryDriverFactory.create({ size: 1 }, {})).rejects.toMatchObject({ key: 'size', driver: 'inmemory' });
  });

  it('gives every driver its own store', async () => {
    await driver.putContent('/a', Buffer.from('x'));
    expect(await createInMemoryDriver().list('/')).toEqual([]);
  });
});

describe('inmemory reference semantics (the strictest reading of the contract)', () => {
  it('keeps written bytes invisible at the path until commit, and the old content readable meanwhile', async () => {
    const writer = await driver.writer('/upload', false);
    await writer.write(Buffer.from('new'));
    await writer.close();
    await expect(driver.stat('/upload')).rejects.toBeInstanceOf(PathNotFoundError);
    expect(await driver.list('/')).toEqual([]);

    await driver.putContent('/blob', Buffer.from('old'));
    const rewrite = await driver.writer('/blob', false);
    await rewrite.write(Buffer.from('replacement'));
    expect((await driver.getContent('/blob')).toString()).toBe('old');
    await rewrite.commit();
    expect((await driver.getContent('/blob')).toString()).toBe('replacement');
  });

  it('refuses to append to committed, non-empty content', async () => {
    await driver.putContent('/done', Buffer.from('final'));
    await expect(driver.writer('/done', true)).rejects.toThrow(/cannot append to the committed, non-empty content/);
  });

  it('refuses writes and commit from a writer whose upload another writer replaced', async () => {
    const first = await driver.writer('/upload', false);
    await first.write(Buffer.from('one'));
    const second = await driver.writer('/upload', false);
    await expect(first.write(Buffer.from('late'))).rejects.toThrow(/replaced, finished or deleted/);
    await expect(first.commit()).rejects.toBeInstanceOf(StorageDriverError);
    await second.write(Buffer.from('two'));
    await second.commit();
    expect((await driver.getContent('/upload')).toString()).toBe('two');
  });

  it('refuses a file below a file, and a file where a directory is', async () => {
    await driver.putContent('/a/file', Buffer.from('x'));
    await expect(driver.putContent('/a/file/below', Buffer.from('y'))).rejects.toThrow(/\/a\/file is a file, not a directory/);
    await expect(driver.putContent('/a', Buffer.from('y'))).rejects.toThrow(/\/a is a directory/);
    await expect(driver.writer('/a', false)).rejects.toBeInstanceOf(StorageDriverError);
    await expect(driver.move('/a/file', '/a/file/below')).rejects.toBeInstanceOf(StorageDriverError);
    expect((await driver.getContent('/a/file')).toString()).toBe('x');
  });

  it('has implicit directories: they disappear with their last file', async () => {
    await driver.putContent('/x/y/z/file', Buffer.from('x'));
    await driver.putContent('/x/other', Buffer.from('x'));
    await driver.delete('/x/y/z/file');
    expect(await driver.list('/x')).toEqual(['/x/other']);
    await driver.move('/x/other', '/elsewhere');
    expect(await driver.list('/')).toEqual(['/elsewhere']);
  });

  it('refuses to move a directory', async () => {
    await driver.putContent('/dir/file', Buffer.from('x'));
    await expect(driver.move('/dir', '/moved')).rejects.toThrow(/is a directory/);
  });

  it('discards unfinished writes below a deleted path, and deletes a path that holds only one', async () => {
    const writer = await driver.writer('/uploads/1/data', false);
    await writer.write(Buffer.from('partial'));
    await writer.close();
    await driver.delete('/uploads');
    await expect(driver.writer('/uploads/1/data', true)).rejects.toBeInstanceOf(PathNotFoundError);
    await expect(driver.delete('/uploads')).rejects.toBeInstanceOf(PathNotFoundError);
  });

  it('reports a directory modification time no older than its newest file', async () => {
    await driver.putContent('/d/old', Buffer.from('x'));
    const file = await driver.stat('/d/old');
    const dir = await driver.stat('/d');
    expect(dir.modTime.getTime()).toBeGreaterThanOrEqual(file.modTime.getTime());
  });
});
