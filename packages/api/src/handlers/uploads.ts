import {
  BlobUploadInvalidError,
  Digest,
  DigestInvalidError,
  isSupportedAlgorithm,
  RangeInvalidError,
  SizeInvalidError,
  type ChunkOptions,
  type Repository,
  type UploadStatus,
} from '@berth/registry';
import { clientGoneSignal, declaredLength, hasBody } from '../body';
import { queryValue, repositoryOf, sendEmpty, type Handler, type RequestContext } from '../context';
import { blobTarget, emitEvent } from '../events';
import { parseContentRange, uploadRangeHeader } from '../http-ranges';

/** Sets `Location` (with a fresh signed `_state`), `Range` and `Docker-Upload-UUID` for a session. */
function setSessionHeaders(ctx: RequestContext, name: string, status: UploadStatus): void {
  const state = ctx.uploadState.encode({ name, uuid: status.id, offset: status.size, startedAt: status.startedAt.toISOString() });
  ctx.res.set({
    Location: ctx.urls.upload(name, status.id, state),
    Range: uploadRangeHeader(status.size),
    'Docker-Upload-UUID': status.id,
  });
}

/** Checks the `_state` parameter when present: signed by us, for this repository and session. */
function checkState(ctx: RequestContext, name: string, id: string): void {
  const token = queryValue(ctx, '_state');
  if (token === undefined) return;
  const state = ctx.uploadState.decode(token);
  if (state.name !== name || state.uuid !== id) {
    throw new BlobUploadInvalidError('upload state belongs to another upload', { uuid: id });
  }
}

/**
 * `Content-Range` → chunk options (RANGE_INVALID when malformed); Content-Length must match it
 * (SIZE_INVALID). The chunk is cut when the client goes away.
 */
function chunkOptions(ctx: RequestContext): ChunkOptions {
  const signal = clientGoneSignal(ctx.req);
  const range = parseContentRange(ctx.req.headers['content-range']);
  if (!range) return { signal };
  const length = range.end - range.start + 1;
  const declared = declaredLength(ctx.req);
  if (declared !== undefined && declared !== length) {
    throw new SizeInvalidError(`Content-Length ${declared} does not match Content-Range ${range.start}-${range.end}`, {
      contentLength: declared,
      contentRange: `${range.start}-${range.end}`,
    });
  }
  return { start: range.start, length, signal };
}

/**
 * Runs an upload operation; on RANGE_INVALID answers with the session's current `Range` and
 * `Location` so the client can resume from there.
 */
async function withRangeRecovery<T>(ctx: RequestContext, repo: Repository, id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof RangeInvalidError)) throw error;
    ctx.req.resume();
    const status = await repo.uploads.status(id);
    setSessionHeaders(ctx, repo.name, status);
    throw new RangeInvalidError(error.message, { uploadSize: status.size });
  }
}

/**
 * `POST /v2/<name>/blobs/uploads/` (end-4a/4b/11): `?mount=&from=` links a blob from another
 * repository (201) or falls back to a session; `?digest=` uploads the body in one request (201);
 * otherwise opens a session (202). `?digest-algorithm=` picks the streaming hash.
 */
export const startUpload: Handler = async (ctx) => {
  const repo = repositoryOf(ctx);
  const mount = queryValue(ctx, 'mount');
  const from = queryValue(ctx, 'from');
  if (mount !== undefined && from !== undefined) {
    const digest = Digest.parse(mount);
    const blob = await repo.blobs.mount(digest, ctx.registry.repository(from).blobs);
    if (blob) {
      ctx.res.set({ Location: ctx.urls.blob(repo.name, digest.toString()), 'Docker-Content-Digest': digest.toString() });
      sendEmpty(ctx.res, 201);
      return emitEvent(ctx, 'mount', { ...blobTarget(ctx, repo.name, digest.toString(), blob.size), fromRepository: from });
    }
  }
  const requested = queryValue(ctx, 'digest');
  const digest = requested === undefined ? undefined : Digest.parse(requested);
  const algorithmParam = queryValue(ctx, 'digest-algorithm');
  if (algorithmParam !== undefined && !isSupportedAlgorithm(algorithmParam)) {
    throw new DigestInvalidError(`unsupported digest algorithm ${JSON.stringify(algorithmParam)} (supported: sha256, sha512)`);
  }
  const session = await repo.uploads.start({ algorithm: digest?.algorithm ?? algorithmParam });
  if (digest) {
    const body = hasBody(ctx.req) ? ctx.req : undefined;
    const blob = await repo.uploads.commit(session.id, digest, body, body ? { signal: clientGoneSignal(ctx.req) } : {}).catch(async (error: unknown) => {
      // Nobody holds a Location for this session: do not leave it behind.
      await repo.uploads.cancel(session.id).catch(() => undefined);
      throw error;
    });
    ctx.res.set({ Location: ctx.urls.blob(repo.name, blob.digest.toString()), 'Docker-Content-Digest': blob.digest.toString() });
    sendEmpty(ctx.res, 201);
    return emitEvent(ctx, 'push', blobTarget(ctx, repo.name, blob.digest.toString(), blob.size));
  }
  setSessionHeaders(ctx, repo.name, session);
  sendEmpty(ctx.res, 202);
};

/** `PATCH /v2/<name>/blobs/uploads/<uuid>` (end-5): appends a streamed or `Content-Range` chunk; 202. */
export const patchUpload: Handler = async (ctx) => {
  const repo = repositoryOf(ctx);
  const id = ctx.params.uuid;
  checkState(ctx, repo.name, id);
  const status = await withRangeRecovery(ctx, repo, id, () => repo.uploads.append(id, ctx.req, chunkOptions(ctx)));
  setSessionHeaders(ctx, repo.name, status);
  sendEmpty(ctx.res, 202);
};

/**
 * `PUT /v2/<name>/blobs/uploads/<uuid>?digest=` (end-6): appends the optional final chunk, verifies
 * the whole content against `digest` and commits it; 201 with the blob's `Location`. A digest that
 * does not match answers DIGEST_INVALID and nothing is committed.
 */
export const putUpload: Handler = async (ctx) => {
  const repo = repositoryOf(ctx);
  const id = ctx.params.uuid;
  checkState(ctx, repo.name, id);
  const digest = Digest.parse(queryValue(ctx, 'digest'));
  const body = hasBody(ctx.req) ? ctx.req : undefined;
  const blob = await withRangeRecovery(ctx, repo, id, () => repo.uploads.commit(id, digest, body, body ? chunkOptions(ctx) : {}));
  ctx.res.set({ Location: ctx.urls.blob(repo.name, blob.digest.toString()), 'Docker-Content-Digest': blob.digest.toString() });
  sendEmpty(ctx.res, 201);
  emitEvent(ctx, 'push', blobTarget(ctx, repo.name, blob.digest.toString(), blob.size));
};

/** `GET /v2/<name>/blobs/uploads/<uuid>` (end-13): 204 with the session's `Range`. */
export const getUploadStatus: Handler = async (ctx) => {
  const repo = repositoryOf(ctx);
  const id = ctx.params.uuid;
  checkState(ctx, repo.name, id);
  setSessionHeaders(ctx, repo.name, await repo.uploads.status(id));
  sendEmpty(ctx.res, 204);
};

/** `DELETE /v2/<name>/blobs/uploads/<uuid>`: cancels the session; 204. */
export const cancelUpload: Handler = async (ctx) => {
  const repo = repositoryOf(ctx);
  const id = ctx.params.uuid;
  checkState(ctx, repo.name, id);
  await repo.uploads.cancel(id);
  sendEmpty(ctx.res, 204);
};
