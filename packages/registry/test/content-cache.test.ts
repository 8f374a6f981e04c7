import { ContentCache } from '../src/content-cache';

describe('ContentCache', () => {
  it('drops the least recently used contents to stay within its budget', () => {
    const cache = new ContentCache(30, 10);
    cache.set('a', Buffer.alloc(10));
    cache.set('b', Buffer.alloc(10));
    cache.set('c', Buffer.alloc(10));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('d', Buffer.alloc(10));
    expect(cache.get('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((k) => cache.get(k) !== undefined)).toEqual([true, true, true]);
  });

  it('keeps a slice of Node’s shared buffer pool as a copy of its own, so the entry does not keep the whole pool slab alive', () => {
    const cache = new ContentCache(1000, 100);
    const pooled = Buffer.from('{"schemaVersion":2}');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length); // a slice of the 8 KiB pool
    cache.set('m', pooled);
    const kept = cache.get('m') as Buffer;
    expect(kept.toString()).toBe('{"schemaVersion":2}');
    expect(kept.buffer.byteLength).toBe(kept.length);
  });

  it('does not remember contents larger than an entry may be', () => {
    const cache = new ContentCache(100, 10);
    cache.set('big', Buffer.alloc(11));
    expect(cache.get('big')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
