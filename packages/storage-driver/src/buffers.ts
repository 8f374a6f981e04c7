/**
 * A copy of `content` in memory of its own, for buffers kept long (caches). `Buffer.from` of fewer
 * than 4 KiB takes a slice of Node's shared 8 KiB allocation pool, and a kept slice keeps the whole
 * 8 KiB alive: a cache of 70-byte link files held that way costs a hundred times its size.
 */
export function ownedCopy(content: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(content.length);
  content.copy(copy);
  return copy;
}
