import { ownedCopy } from '@berth/storage-driver';

/**
 * Small immutable contents (manifests) remembered by digest, least recently used first out. Content
 * stored under a digest never changes, so entries need no invalidation: callers still check that
 * the manifest is linked in the repository before they use one. The buffers are shared; callers must
 * not modify them.
 */
export class ContentCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  /**
   * @param maxBytes budget of the whole cache.
   * @param maxEntryBytes larger contents are not remembered.
   */
  constructor(
    private readonly maxBytes: number,
    private readonly maxEntryBytes = Math.floor(maxBytes / 16),
  ) {}

  get(key: string): Buffer | undefined {
    const content = this.entries.get(key);
    if (content === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, content);
    return content;
  }

  /** Keeps `content` itself when it owns its memory, else a copy that does (see `ownedCopy`). */
  set(key: string, content: Buffer): void {
    if (content.length > this.maxEntryBytes || this.entries.has(key)) return;
    this.entries.set(key, content.buffer.byteLength === content.length ? content : ownedCopy(content));
    this.bytes += content.length;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
