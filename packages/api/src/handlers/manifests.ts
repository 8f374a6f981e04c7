import { DigestInvalidError, ManifestUnknownError, parseReference, TagInvalidError, type ManifestReference } from '@berth/registry';
import { readLimitedBody } from '../body';
import { repositoryOf, sendEmpty, type Handler } from '../context';
import { emitEvent, manifestReferences, wantsEvents } from '../events';

/**
 * The reference of a GET, HEAD or DELETE. One that is neither a valid tag nor a digest names no
 * manifest: `ManifestUnknownError` (404), as the OCI conformance suite expects (distribution's
 * router does not match such a path, a 404 too). A PUT keeps TAG_INVALID/DIGEST_INVALID (400).
 */
function existingReference(reference: string): ManifestReference {
  try {
    return parseReference(reference);
  } catch (error) {
    if (error instanceof TagInvalidError || error instanceof DigestInvalidError) throw new ManifestUnknownError(reference);
    throw error;
  }
}

/**
 * `GET|HEAD /v2/<name>/manifests/<reference>` (end-3): the exact stored bytes with their stored
 * media type as Content-Type (whatever `Accept` lists: Berth never converts manifests),
 * `Docker-Content-Digest`, and 304 for a matching `If-None-Match`.
 */
export const getManifest: Handler = async (ctx) => {
  const { req, res } = ctx;
  const reference = existingReference(ctx.params.reference);
  const repo = repositoryOf(ctx);
  const pullThrough = ctx.options.pullThrough;
  const manifest = pullThrough ? await pullThrough.getManifest(repo.name, reference) : await repo.manifests.get(reference);
  const etag = `"${manifest.digest}"`;
  res.set({ 'Docker-Content-Digest': manifest.digest.toString(), ETag: etag });
  res.setHeader('Content-Type', manifest.mediaType);
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
    sendEmpty(res, 304);
  } else {
    res.status(200).set('Content-Length', String(manifest.content.length));
    res.end(req.method === 'HEAD' ? undefined : manifest.content);
  }
  // distribution reports a pull for every successful manifest fetch, HEAD and 304 included.
  if (wantsEvents(ctx)) {
    const name = repo.name;
    emitEvent(ctx, 'pull', {
      mediaType: manifest.mediaType,
      digest: manifest.digest.toString(),
      size: manifest.content.length,
      repository: name,
      url: ctx.urls.manifest(name, manifest.digest.toString()),
      tag: reference.tag,
      references: manifestReferences(ctx, manifest.content, manifest.mediaType),
    });
  }
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
  if (wantsEvents(ctx)) {
    const digest = result.digest.toString();
    const target = {
      mediaType: result.mediaType,
      digest,
      size: content.length,
      repository: repo.name,
      url: ctx.urls.manifest(repo.name, digest),
      references: manifestReferences(ctx, content, result.mediaType),
    };
    // One push event per tag the PUT set (the reference's tag, or each `?tag=`), else one untagged.
    const tags = [...(reference.tag !== undefined ? [reference.tag] : []), ...ctx.query.getAll('tag')];
    if (tags.length === 0) emitEvent(ctx, 'push', target);
    for (const tag of tags) emitEvent(ctx, 'push', { ...target, tag });
  }
};

/**
 * `DELETE /v2/<name>/manifests/<reference>` (end-9): 202; by digest deletes the manifest, by tag only
 * the tag. A reference that is neither a tag nor a digest is 404 MANIFEST_UNKNOWN, like GET.
 */
export const deleteManifest: Handler = async (ctx) => {
  const reference = existingReference(ctx.params.reference);
  const repo = repositoryOf(ctx);
  await repo.manifests.delete(reference);
  sendEmpty(ctx.res, 202);
  // Like distribution: a tag delete names the tag, a manifest delete the digest.
  if (reference.tag !== undefined) emitEvent(ctx, 'delete', { repository: repo.name, tag: reference.tag });
  else emitEvent(ctx, 'delete', { repository: repo.name, digest: reference.digest.toString() });
};
