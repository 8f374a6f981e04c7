/**
 * Blob sizes remembered by digest, least recently used first out (`storage.cache.blobdescriptor:
 * inmemory`, bounded by `blobdescriptorsize`, like distribution's in-memory blob descriptor cache).
 * Only blobs found in storage are remembered: a miss always asks the driver. Content under a digest
 * never changes, so an entry stays true while the blob exists; a blob removed by garbage collection
 * is unlinked from every repository first, so a stale entry is never served on its own (callers
 * check the repository link before they use one).
 */
export class DescriptorCache {
  private readonly entries = new Map<string, number>();

  /** @param maxEntries how many digests are remembered; 0 = no bound. */
  constructor(private readonly maxEntries: number) {}

  get(key: string): number | undefined {
    const size = this.entries.get(key);
    if (size === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, size);
    return size;
  }

  set(key: string, size: number): void {
    this.entries.delete(key);
    this.entries.set(key, size);
    if (this.maxEntries <= 0) return;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
