import { Digest, MediaType } from '@berth/registry';
import { repositoryOf, sendJson, type Handler } from '../context';

/**
 * `GET /v2/<name>/referrers/<digest>[?artifactType=]` (end-12a/b): an OCI image index of the
 * manifests whose subject is `<digest>`; never 404 (an unknown subject gives an empty index);
 * `OCI-Filters-Applied: artifactType` when filtered.
 */
export const getReferrers: Handler = async (ctx) => {
  const repo = repositoryOf(ctx);
  const subject = Digest.parse(ctx.params.digest);
  const artifactTypes = ctx.query.getAll('artifactType').filter((t) => t !== '');
  const index = await repo.referrers.index(subject, { artifactTypes });
  if (artifactTypes.length > 0) ctx.res.set('OCI-Filters-Applied', 'artifactType');
  sendJson(ctx.res, 200, index, MediaType.OCI_INDEX);
};
