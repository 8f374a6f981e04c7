import { pipeline } from 'node:stream/promises';
import { BlobUnknownError, type BlobDescriptor, type Digest, type Repository } from '@berth/registry';
import type { RequestContext } from '../context';
import { blobTarget, emitEvent } from '../events';

/** The headers of a blob answer (as `getBlob` sets them for a stored blob). */
function blobHeaders(ctx: RequestContext, digest: Digest): void {
  ctx.res.set({
    'Docker-Content-Digest': digest.toString(),
    ETag: `"${digest}"`,
    'Cache-Control': 'max-age=31536000',
    'Content-Type': 'application/octet-stream',
  });
}

/**
 * A blob GET/HEAD that missed storage, on a pull-through cache: rethrows `error` unless it is
 * `BlobUnknownError` and `ctx.options.pullThrough` is set. Then:
 * - HEAD answers from the upstream's HEAD (nothing is stored);
 * - a plain GET streams the blob from the upstream while it is stored (or, when another request is
 *   already fetching it, waits for that and is served from storage);
 * - a GET with `Range` or `If-None-Match` waits until the blob is stored, then is served from
 *   storage like any other.
 * Resolves the descriptor for the caller to serve from storage, or undefined when it answered.
 */
export async function blobMissed(ctx: RequestContext, repo: Repository, digest: Digest, error: unknown): Promise<BlobDescriptor | undefined> {
  const cache = ctx.options.pullThrough;
  if (!cache || !(error instanceof BlobUnknownError)) throw error;
  const { req, res } = ctx;
  if (req.method === 'HEAD') {
    const blob = await cache.statBlob(repo.name, digest);
    blobHeaders(ctx, digest);
    res.status(200).set('Content-Length', String(blob.size)).end();
    emitEvent(ctx, 'pull', blobTarget(ctx, repo.name, digest.toString(), blob.size));
    return undefined;
  }
  const plain = req.headers.range === undefined && req.headers['if-none-match'] === undefined;
  const passing = await cache.fetchBlob(repo.name, digest, plain ? 'stream' : 'store');
  if (!passing) return repo.blobs.stat(digest);
  blobHeaders(ctx, digest);
  res.status(200);
  if (passing.size !== undefined) res.set('Content-Length', String(passing.size));
  await pipeline(passing.body, res);
  const size = passing.size ?? (await repo.blobs.stat(digest)).size;
  emitEvent(ctx, 'pull', blobTarget(ctx, repo.name, digest.toString(), size));
  return undefined;
}
