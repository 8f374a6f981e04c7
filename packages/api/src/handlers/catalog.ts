import { sendJson, type Handler } from '../context';
import { pageRequest, setNextLink } from '../pagination';

/**
 * `GET /v2/_catalog[?n=&last=]`: repository names in lexical order; 100 per page without `n`, and
 * `n` above `catalog.maxentries` is PAGINATION_NUMBER_INVALID (distribution 2.8).
 */
export const getCatalog: Handler = async (ctx) => {
  const request = pageRequest(ctx);
  const page = await ctx.registry.catalog(request);
  setNextLink(ctx, '/v2/_catalog', page, request.n ?? page.items.length);
  sendJson(ctx.res, 200, { repositories: page.items });
};
