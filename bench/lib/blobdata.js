'use strict';
// Deterministic pseudo-random blob content, generated as a stream and never held whole in memory:
// the bytes of blob `seed` are AES-128-CTR keystream (key = SHA-256(seed)), so any byte range can
// be produced on its own (the counter of byte offset `o` is o / 16), at several GB/s per core.
const { createCipheriv, createHash } = require('node:crypto');

const BLOCK = 1 << 20; // bytes produced per step
const ZEROS = Buffer.alloc(BLOCK);

function keyOf(seed) {
  return createHash('sha256').update(String(seed)).digest().subarray(0, 16);
}

function counterIv(offset) {
  if (offset % 16 !== 0) throw new Error(`blob ranges must start at a multiple of 16 (got ${offset})`);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(offset / 16), 8);
  return iv;
}

/** Yields the bytes [start, end) of blob `seed`, in buffers of at most 1 MiB. */
function* blobChunks(seed, start, end) {
  const cipher = createCipheriv('aes-128-ctr', keyOf(seed), counterIv(start));
  for (let offset = start; offset < end; offset += BLOCK) {
    const n = Math.min(BLOCK, end - offset);
    yield cipher.update(n === BLOCK ? ZEROS : ZEROS.subarray(0, n));
  }
}

const digests = new Map();

/** `sha256:<hex>` of blob `seed` of `size` bytes, computed once per process by generating it. */
function blobDigest(seed, size) {
  const key = `${seed}/${size}`;
  let digest = digests.get(key);
  if (!digest) {
    const hash = createHash('sha256');
    for (const chunk of blobChunks(seed, 0, size)) hash.update(chunk);
    digest = `sha256:${hash.digest('hex')}`;
    digests.set(key, digest);
  }
  return digest;
}

/** A blob description: `{ seed, size, digest }`. */
function blob(seed, size) {
  return { seed, size, digest: blobDigest(seed, size) };
}

module.exports = { blob, blobChunks, blobDigest };
