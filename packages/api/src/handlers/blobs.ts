import { Digest } from '@berth/registry';
import { repositoryOf, sendEmpty, type Handler, type RequestContext } from '../context';
import { blobTarget, emitEvent } from '../events';
import { blobMissed } from './blobs-pull-through';
import { parseRange } from '../http-ranges';

/** True when an `If-None-Match` header lists `etag` (or `*`). */
function notModified(ctx: RequestContext, etag: string): boolean {
  const header = ctx.req.headers['if-none-match'];
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim().replace(/^W\//, '');
    return t === '*' || t === etag;
  });
}

/**
 * Reports a blob pull. Like distribution (which reports after `ServeBlob` succeeded), every
 * successful fetch counts: HEAD, 304, 307 and ranges included; a GET the client abandoned does not.
 */
function pulled(ctx: RequestContext, repository: string, digest: Digest, size: number): void {
  emitEvent(ctx, 'pull', blobTarget(ctx, repository, digest.toString(), size));
}

/**
 * `GET|HEAD /v2/<name>/blobs/<digest>` (end-2): 200 with the blob, 206 for a satisfiable `Range`,
 * 416 otherwise, 307 to the driver's URL when redirects are on, 304 for a matching `If-None-Match`.
 */
export const getBlob: Handler = async (ctx) => {
  const { req, res } = ctx;
  const head = req.method === 'HEAD';
  const repo = repositoryOf(ctx);
  const digest = Digest.parse(ctx.params.digest);
  const blob = await repo.blobs.stat(digest).catch((error: unknown) => blobMissed(ctx, repo, digest, error));
  if (!blob) return;
  res.set('Docker-Content-Digest', digest.toString());
  if (ctx.options.redirect) {
    const url = await repo.blobs.redirectUrl(digest, head ? 'HEAD' : 'GET');
    if (url) {
      res.set('Location', url);
      sendEmpty(res, 307);
      return pulled(ctx, repo.name, digest, blob.size);
    }
  }
  const etag = `"${digest}"`;
  res.set({ ETag: etag, 'Accept-Ranges': 'bytes', 'Cache-Control': 'max-age=31536000', 'Content-Type': 'application/octet-stream' });
  if (notModified(ctx, etag)) {
    sendEmpty(res, 304);
    return pulled(ctx, repo.name, digest, blob.size);
  }
  const range = parseRange(req.headers.range, blob.size);
  const start = range.kind === 'partial' ? range.start : 0;
  const length = range.kind === 'partial' ? range.end - range.start + 1 : blob.size;
  if (range.kind === 'partial') res.status(206).set('Content-Range', `bytes ${range.start}-${range.end}/${blob.size}`);
  else res.status(200);
  res.set('Content-Length', String(length));
  if (head || length === 0) {
    res.end();
    return pulled(ctx, repo.name, digest, blob.size);
  }
  await repo.blobs.sendTo(digest, start, length, res);
  res.end();
  pulled(ctx, repo.name, digest, blob.size);
};

/** `DELETE /v2/<name>/blobs/<digest>` (end-10): 202; unlinks the blob from the repository. */
export const deleteBlob: Handler = async (ctx) => {
  const digest = Digest.parse(ctx.params.digest);
  const repo = repositoryOf(ctx);
  await repo.blobs.delete(digest);
  sendEmpty(ctx.res, 202);
  emitEvent(ctx, 'delete', { repository: repo.name, digest: digest.toString() });
};
