import { parseReference } from '@berth/registry';
import { readLimitedBody } from '../body';
import { repositoryOf, sendEmpty, type Handler } from '../context';

/**
 * `GET|HEAD /v2/<name>/manifests/<reference>` (end-3): the exact stored bytes with their stored
 * media type as Content-Type (whatever `Accept` lists: Berth never converts manifests),
 * `Docker-Content-Digest`, and 304 for a matching `If-None-Match`.
 */
export const getManifest: Handler = async (ctx) => {
  const { req, res } = ctx;
  const reference = parseReference(ctx.params.reference);
  const manifest = await repositoryOf(ctx).manifests.get(reference);
  const etag = `"${manifest.digest}"`;
  res.set({ 'Docker-Content-Digest': manifest.digest.toString(), ETag: etag });
  res.setHeader('Content-Type', manifest.mediaType);
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
    return sendEmpty(res, 304);
  }
  res.status(200).set('Content-Length', String(manifest.content.length));
  res.end(req.method === 'HEAD' ? undefined : manifest.content);
};

/**
 * `PUT /v2/<name>/manifests/<reference>` (end-7): 201 with `Location`, `Docker-Content-Digest` and
 * `OCI-Subject` when the manifest has a subject; 413 above the size limit. `?tag=` parameters
 * (distribution-spec main, end-7b) add tags to a PUT by digest.
 */
export const putManifest: Handler = async (ctx) => {
  const { req, res } = ctx;
  const repo = repositoryOf(ctx);
  const reference = parseReference(ctx.params.reference);
  const content = await readLimitedBody(req, ctx.registry.maxManifestBytes);
  const result = await repo.manifests.put(reference, content, {
    contentType: req.headers['content-type'],
    extraTags: ctx.query.getAll('tag'),
  });
  res.set({
    Location: ctx.urls.manifest(repo.name, result.digest.toString()),
    'Docker-Content-Digest': result.digest.toString(),
  });
  if (result.subject) res.set('OCI-Subject', result.subject.toString());
  sendEmpty(res, 201);
};

/** `DELETE /v2/<name>/manifests/<reference>` (end-9): 202; by digest deletes the manifest, by tag only the tag. */
export const deleteManifest: Handler = async (ctx) => {
  const reference = parseReference(ctx.params.reference);
  await repositoryOf(ctx).manifests.delete(reference);
  sendEmpty(ctx.res, 202);
};
