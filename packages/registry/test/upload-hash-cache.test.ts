import { UploadHashCache } from '../src/upload-hash-cache';

describe('UploadHashCache', () => {
  let clock = 0;
  const now = (): number => clock;
  beforeEach(() => {
    clock = 1_000_000;
  });

  it('drops the state of an upload left alone past the idle limit when another upload stores one', () => {
    const cache = new UploadHashCache(100, 60_000, now);
    cache.set('abandoned', UploadHashCache.fresh('sha256'));
    clock += 30_000;
    cache.set('active', UploadHashCache.fresh('sha256'));
    clock += 30_000;
    cache.set('new', UploadHashCache.fresh('sha256'));
    expect(cache.get('abandoned', 0)).toBeUndefined();
    expect(cache.get('active', 0)).toBeDefined();
    expect(cache.size).toBe(2);
  });

  it('keeps a state whose upload keeps using it, however old the upload', () => {
    const cache = new UploadHashCache(100, 60_000, now);
    cache.set('steady', UploadHashCache.fresh('sha256'));
    for (let chunk = 0; chunk < 5; chunk++) {
      clock += 50_000;
      const state = cache.get('steady', 0);
      expect(state).toBeDefined();
      cache.set('other', UploadHashCache.fresh('sha256'));
    }
    expect(cache.get('steady', 0)).toBeDefined();
  });

  it('evicts the least recently used state beyond its capacity', () => {
    const cache = new UploadHashCache(2, 60_000, now);
    cache.set('a', UploadHashCache.fresh('sha256'));
    cache.set('b', UploadHashCache.fresh('sha256'));
    cache.get('a', 0);
    cache.set('c', UploadHashCache.fresh('sha256'));
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)).toBeDefined();
    expect(cache.get('c', 0)).toBeDefined();
  });

  it('forgets a state asked for at another offset than it covers', () => {
    const cache = new UploadHashCache(10, 60_000, now);
    cache.set('a', UploadHashCache.fresh('sha256'));
    expect(cache.get('a', 5)).toBeUndefined();
    expect(cache.get('a', 0)).toBeUndefined();
  });
});
