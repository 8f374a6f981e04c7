import { PaginationNumberInvalidError, type Page } from '@berth/registry';
import type { RequestContext } from './context';

/** `n` and `last` from the query; `PaginationNumberInvalidError` when `n` is not a non-negative integer. */
export function pageRequest(ctx: RequestContext): { n?: number; last?: string } {
  const rawN = ctx.query.get('n');
  const last = ctx.query.get('last') ?? undefined;
  if (rawN === null || rawN === '') return { last };
  if (!/^\d+$/.test(rawN)) throw new PaginationNumberInvalidError(rawN, 'must be a non-negative integer');
  return { n: Number(rawN), last };
}

/** Sets `Link: <path?n=…&last=…>; rel="next"` when the page has a successor. */
export function setNextLink(ctx: RequestContext, path: string, page: Page<string>, n: number | undefined): void {
  if (!page.more || page.items.length === 0) return;
  const query: Record<string, string> = { n: String(n ?? page.items.length), last: page.items[page.items.length - 1] };
  ctx.res.set('Link', `<${ctx.urls.path(path, query)}>; rel="next"`);
}
