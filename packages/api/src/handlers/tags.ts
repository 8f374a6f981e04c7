import { repositoryOf, sendJson, type Handler } from '../context';
import { pageRequest, setNextLink } from '../pagination';

/**
 * `GET /v2/<name>/tags/list[?n=&last=]` (end-8a/b): tags in lexical order, `Link` when more follow.
 * An `n` above `tags.maxtags` is lowered to it: the `Link` then carries the lowered `n`.
 */
export const listTags: Handler = async (ctx) => {
  const repo = repositoryOf(ctx);
  const request = pageRequest(ctx);
  const page = await repo.tags.list(request);
  setNextLink(ctx, `/v2/${repo.name}/tags/list`, page, page.items.length);
  sendJson(ctx.res, 200, { name: repo.name, tags: page.items });
};
