import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '@berth/logging';

/** What a request did to an upload session, as far as its route, method and status tell. */
export type UploadEvent = 'started' | 'committed' | 'cancelled' | 'failed';

/** One finished request: what the access log prints and what a `RequestObserver` receives. */
export interface RequestRecord {
  /** The `X-Request-Id` of the exchange (the client's when it sent a sane one, else a fresh UUID). */
  readonly requestId: string;
  readonly method: string;
  /** The path, without the query string (upload `_state` tokens stay out of logs). */
  readonly path: string;
  /**
   * The name of the route in the route table (`base`, `catalog`, `tags`, `manifest`, `upload-start`,
   * `upload`, `blob`, `referrers`), or `none` when no route matched (unknown paths, paths outside the prefix).
   */
  readonly route: string;
  /** The repository named in the path (not validated: a request may be refused for it). */
  readonly repository?: string;
  /** The authenticated user (`res.locals.user`, set by the authorization middleware). */
  readonly user?: string;
  /** The peer's address (the proxy's, behind one). */
  readonly remoteAddr?: string;
  /** The response status; 499 when the client went away before the response ended. */
  readonly status: number;
  /** Request body bytes received. */
  readonly bytesIn: number;
  /** Response body bytes sent (0 for HEAD). */
  readonly bytesOut: number;
  readonly durationMs: number;
  /** Upload outcomes of this request (`uploadEventsOf`). */
  readonly uploadEvents: readonly UploadEvent[];
}

/**
 * Told about every request the app serves (metrics). `requestStarted` runs when the request
 * arrives, `requestFinished` once its connection is done with it. Exceptions are logged, never
 * passed on to the request.
 */
export interface RequestObserver {
  requestStarted?(): void;
  requestFinished(record: RequestRecord): void;
}

export interface AccessLogOptions {
  /** `log.accesslog.disabled`: no line per request (the observer is still told). */
  readonly disabled?: boolean;
  readonly observer?: RequestObserver;
}

/** An incoming `X-Request-Id` is reused when it is 1-128 characters of `[A-Za-z0-9._:-]`. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdOf(req: Request): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

/**
 * Counts the body bytes the HTTP parser hands to the request stream, without consuming it (a
 * `data` listener would start the flow before the handler pipes it).
 */
function countRequestBytes(req: Request): () => number {
  let bytes = 0;
  const push = req.push;
  req.push = function countingPush(this: Request, chunk: unknown, encoding?: BufferEncoding): boolean {
    bytes += byteLength(chunk, encoding);
    return push.call(this, chunk, encoding);
  };
  return () => bytes;
}

/** Counts the body bytes given to `res.write` and `res.end` (none for HEAD: node drops them). */
function countResponseBytes(req: Request, res: Response): () => number {
  let bytes = 0;
  if (req.method === 'HEAD') return () => 0;
  const write = res.write;
  const end = res.end;
  res.write = function countingWrite(this: Response, chunk: unknown, ...rest: unknown[]): boolean {
    bytes += byteLength(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof res.write;
  res.end = function countingEnd(this: Response, chunk?: unknown, ...rest: unknown[]): Response {
    if (typeof chunk !== 'function') bytes += byteLength(chunk, rest[0]);
    return (end as (...args: unknown[]) => Response).call(this, chunk, ...rest);
  } as typeof res.end;
  return () => bytes;
}

/** The user name in `res.locals.user`: a string, or an object with a string `name`. */
function userOf(res: Response): string | undefined {
  const user: unknown = res.locals.user;
  if (typeof user === 'string') return user || undefined;
  if (typeof user === 'object' && user !== null && typeof (user as { name?: unknown }).name === 'string') {
    return (user as { name: string }).name || undefined;
  }
  return undefined;
}

/**
 * The upload outcomes of a request, from its route, method and status:
 * - `POST …/blobs/uploads/` answered 202 opened a session: `started`; with `digest=` (a monolithic
 *   upload) 201 is `started` + `committed` and a failure `started` + `failed`. A cross-repository
 *   mount (`mount=` and `from=`, not refused by authorization) is no upload unless it fell back to a
 *   session (202); one that also carries `digest=` and fell back to a monolithic upload counts as a mount.
 * - `PUT …/blobs/uploads/<uuid>` answered 201 is `committed`; any error (or the client leaving) `failed`.
 * - `DELETE …/blobs/uploads/<uuid>` answered 204 is `cancelled`.
 * PATCH and GET on a session change no outcome (a failed chunk leaves the session resumable).
 */
export function uploadEventsOf(
  route: string,
  method: string,
  status: number,
  request: { readonly digest: boolean; readonly mount: boolean },
): UploadEvent[] {
  const failed = status >= 400;
  if (route === 'upload-start' && method === 'POST') {
    if (status === 202) return ['started'];
    const monolithic = request.digest && !request.mount;
    if (!monolithic) return [];
    if (status === 201) return ['started', 'committed'];
    return failed ? ['started', 'failed'] : [];
  }
  if (route === 'upload' && method === 'PUT') return status === 201 ? ['committed'] : failed ? ['failed'] : [];
  if (route === 'upload' && method === 'DELETE' && status === 204) return ['cancelled'];
  return [];
}

/**
 * The first middleware of the app. Gives each request an id (`X-Request-Id` on the response, reused
 * from the request when sane), a child logger carrying it (`res.locals.logger`, `res.locals.requestId`),
 * and, once the exchange is over, logs one line at info (unless `disabled`) and tells the observer.
 * Status 499 means the client went away before the response ended. The dispatcher leaves the route
 * name and repository in `res.locals.route` and `res.locals.repository`; the authorization middleware
 * leaves the user in `res.locals.user`.
 */
export function accessLog(logger: Logger, options: AccessLogOptions = {}): RequestHandler {
  const { disabled = false, observer } = options;
  const identify = (req: Request, res: Response): { requestId: string; requestLogger: Logger } => {
    const requestId = requestIdOf(req);
    const requestLogger = logger.child({ requestId });
    res.locals.logger = requestLogger;
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    return { requestId, requestLogger };
  };
  // Nobody reads the record: no byte counting, no listener per request.
  if (disabled && !observer) {
    return (req, res, next) => {
      identify(req, res);
      next();
    };
  }
  return (req, res, next) => {
    const started = performance.now();
    const { requestId, requestLogger } = identify(req, res);
    const bytesIn = countRequestBytes(req);
    const bytesOut = countResponseBytes(req, res);
    try {
      observer?.requestStarted?.();
    } catch (error) {
      requestLogger.error('the request observer failed', { error: String(error) });
    }
    res.once('close', () => {
      const status = res.writableFinished && !res.locals.aborted ? res.statusCode : 499;
      const route = typeof res.locals.route === 'string' ? res.locals.route : 'none';
      const query = new URL(req.originalUrl, 'http://registry.invalid').searchParams;
      const mount = query.has('mount') && query.has('from') && res.locals.mountRefused !== true;
      const record: RequestRecord = {
        requestId,
        method: req.method,
        path: req.path,
        route,
        repository: typeof res.locals.repository === 'string' ? res.locals.repository : undefined,
        user: userOf(res),
        remoteAddr: req.socket.remoteAddress,
        status,
        bytesIn: bytesIn(),
        bytesOut: bytesOut(),
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        uploadEvents: uploadEventsOf(route, req.method, status, { digest: query.has('digest'), mount }),
      };
      if (!disabled) {
        const { requestId: _id, uploadEvents: _events, ...fields } = record;
        const userAgent = req.headers['user-agent'];
        requestLogger.info('request', withoutUndefined({ ...fields, userAgent }));
      }
      try {
        observer?.requestFinished(record);
      } catch (error) {
        requestLogger.error('the request observer failed', { error: String(error) });
      }
    });
    next();
  };
}

function withoutUndefined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
