import type { Request, Response } from 'express';
import type { Registry, Repository } from '@berth/registry';
import type { Logger } from '@berth/logging';
import type { ResolvedOptions } from './options';
import type { UploadStateCodec } from './upload-state';
import type { UrlBuilder } from './urls';

/** Everything a handler gets for one request. */
export interface RequestContext {
  readonly req: Request;
  readonly res: Response;
  /** Route captures, percent-decoded (`name`, `reference`, `digest`, `uuid`). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly registry: Registry;
  readonly options: ResolvedOptions;
  readonly urls: UrlBuilder;
  readonly uploadState: UploadStateCodec;
  /** The per-request logger (requestId, method, path). */
  readonly logger: Logger;
}

/** A route handler: answers the request or throws (the error middleware answers then). */
export type Handler = (ctx: RequestContext) => Promise<void>;

/** The repository named by the route (`NameInvalidError` for a bad name). */
export function repositoryOf(ctx: RequestContext): Repository {
  return ctx.registry.repository(ctx.params.name);
}

/** A query parameter that must appear at most once with a value; undefined when absent. */
export function queryValue(ctx: RequestContext, key: string): string | undefined {
  const value = ctx.query.get(key);
  return value === null ? undefined : value;
}

/** Sends an empty response with `status` (Content-Length: 0, except on 304 where it would lie). */
export function sendEmpty(res: Response, status: number): void {
  res.status(status);
  if (status !== 304) res.set('Content-Length', '0');
  res.end();
}

/** Sends a JSON document with exactly `contentType` (no charset added). */
export function sendJson(res: Response, status: number, body: unknown, contentType = 'application/json'): void {
  const text = Buffer.from(JSON.stringify(body));
  res.status(status);
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', String(text.length));
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
