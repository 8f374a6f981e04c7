import { PathNotFoundError, StorageDriverError, StorageUnavailableError } from '@berth/storage-driver';
import { BlobUnknownError, UnavailableError, asRegistryError } from '@berth/registry';

describe('asRegistryError', () => {
  it('keeps a domain error as it is', () => {
    const error = new BlobUnknownError('sha256:abc');
    expect(asRegistryError(error)).toBe(error);
  });

  it('turns a StorageUnavailableError, or an error caused by one, into UnavailableError (503) with its message', () => {
    const storage = new StorageUnavailableError('s3', 'the store is unavailable: connect ECONNREFUSED');
    const direct = asRegistryError(storage);
    expect(direct).toBeInstanceOf(UnavailableError);
    expect(direct).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') });
    expect(asRegistryError(new Error('reading the tag failed', { cause: storage }))).toBeInstanceOf(UnavailableError);
  });

  it('leaves other storage failures alone (they stay server faults)', () => {
    expect(asRegistryError(new StorageDriverError('s3', 'AccessDenied'))).toBeUndefined();
    expect(asRegistryError(new PathNotFoundError('s3', '/a'))).toBeUndefined();
    expect(asRegistryError('text')).toBeUndefined();
  });
});
