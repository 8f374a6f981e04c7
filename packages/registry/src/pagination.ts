import { PaginationNumberInvalidError } from './errors';

/** A page request: at most `n` entries strictly after `last` (both optional). */
export interface PageRequest {
  readonly n?: number;
  readonly last?: string;
}

/** One page of a lexically sorted listing. */
export interface Page<T> {
  readonly items: T[];
  /** True when entries follow this page (the API then sends a `Link: <…>; rel="next"`). */
  readonly more: boolean;
}

/** Throws `PaginationNumberInvalidError` unless `n` is undefined or an integer in [0, max]. */
export function assertPageSize(n: number | undefined, max = Number.MAX_SAFE_INTEGER): void {
  if (n === undefined) return;
  if (!Number.isSafeInteger(n) || n < 0) throw new PaginationNumberInvalidError(n, 'must be a non-negative integer');
  if (n > max) throw new PaginationNumberInvalidError(n, `must not exceed ${max}`);
}

/**
 * Cuts a page out of `sorted` (ascending, code-unit order): entries after `last`, at most `n`
 * (`n` undefined = all; `n = 0` = none, and `more` is false).
 */
export function paginate(sorted: readonly string[], request: PageRequest): Page<string> {
  const after = request.last === undefined ? sorted : sorted.filter((item) => item > (request.last as string));
  if (request.n === undefined) return { items: [...after], more: false };
  if (request.n === 0) return { items: [], more: false };
  return { items: after.slice(0, request.n), more: after.length > request.n };
}

/** Code-unit order (what the spec calls lexical order for ASCII names). */
export function compareLexically(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
