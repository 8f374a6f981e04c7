import express, { type Request, type RequestHandler } from 'express';
import type { Registry } from '@berth/registry';
import { accessLog } from './access-log';
import { authorization, corsHandling, type AuthLocals } from './auth';
import type { RequestContext } from './context';
import { errorMiddleware } from './error-middleware';
import { ApiError } from './errors';
import { resolveOptions, type AppOptions, type ResolvedOptions } from './options';
import type { RoutedLocals, RoutedRequest } from './request-route';
import { matchRoute, type Method, type RouteMatch } from './routes';
import { uiPages } from './ui/pages';
import { UploadStateCodec } from './upload-state';
import { baseUrl, UrlBuilder } from './urls';

/** Sets `Docker-Distribution-API-Version` and the configured `http.headers` on every response. */
function responseHeaders(options: ResolvedOptions): RequestHandler {
  const configured = Object.entries(options.headers ?? {});
  return (_req, res, next) => {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    for (const [name, values] of configured) res.set(name, values);
    next();
  };
}

const NO_QUERY = '';

/** The query string of a request URL (between `?` and any `#`), or '' (most requests have none). */
function queryOf(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return NO_QUERY;
  const fragment = url.indexOf('#', mark);
  return url.slice(mark + 1, fragment === -1 ? undefined : fragment);
}

/** The path below `http.prefix`, or undefined when the request is outside it. */
function belowPrefix(path: string, prefix: string): string | undefined {
  if (prefix === '') return path;
  if (path === prefix) return '/';
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : undefined;
}

/** A request's route as the routing middleware matched it, with the route table's handlers. */
interface Routed extends RoutedRequest {
  readonly match?: RouteMatch;
}

/**
 * Matches a request below `<prefix>/v2` against the route table, once, and leaves the result in
 * `res.locals.routed` for the authorization middleware and the dispatcher; it answers nothing.
 */
function routing(apiPath: (req: Request) => string | undefined): RequestHandler {
  return (req, res, next) => {
    const path = apiPath(req);
    if (path !== undefined) {
      let decoded: string | undefined;
      try {
        decoded = decodeURIComponent(path);
      } catch {
        decoded = undefined;
      }
      const routed: Routed = { path, decoded, match: decoded === undefined ? undefined : matchRoute(decoded) };
      (res.locals as RoutedLocals).routed = routed;
    }
    next();
  };
}

/** Answers `<prefix>/v2/*` (and the web UI's `<prefix>/ui/api/*`) with the handler of the route `routing` matched; other paths fall through. */
function dispatcher(options: ResolvedOptions, registry: Registry): RequestHandler {
  const uploadState = new UploadStateCodec(options.secret);
  return async (req, res, next) => {
    const routed = (res.locals as RoutedLocals).routed as Routed | undefined;
    if (!routed) return next();
    const { path, decoded, match } = routed;
    if (decoded === undefined) throw new ApiError('NOT_FOUND', `malformed URL path ${JSON.stringify(path)}`);
    if (!match) throw new ApiError('NOT_FOUND', `no route for ${req.method} ${decoded}`, { path: decoded });
    res.locals.route = match.route.name;
    if (match.params.name !== undefined) res.locals.repository = match.params.name;
    const methods = match.route.methods;
    const handler = methods[req.method as Method] ?? (req.method === 'HEAD' ? methods.GET : undefined);
    if (!handler) {
      const allowed = Object.keys(methods).join(', ');
      throw new ApiError('UNSUPPORTED', `method ${req.method} is not allowed here (allowed: ${allowed})`, { method: req.method }, { Allow: allowed });
    }
    if (match.route.name !== 'base' && options.storageHealthy?.() === false) {
      throw new ApiError('UNAVAILABLE', 'the storage backend is unavailable: health check failed, see /debug/health on the debug server');
    }
    const query = new URLSearchParams(queryOf(req.originalUrl));
    // The authorization middleware refused the mount source: a plain upload session instead.
    if ((res.locals as AuthLocals).mountRefused) ['mount', 'from'].forEach((key) => query.delete(key));
    const ctx: RequestContext = {
      req,
      res,
      params: match.params,
      query,
      registry,
      options,
      urls: new UrlBuilder(baseUrl(req, options), options.prefix),
      uploadState,
      logger: res.locals.logger,
    };
    await handler(ctx);
  };
}

/**
 * The OCI Distribution API (v1.1) and the Docker Registry V2 endpoints clients use, as an express
 * app over `registry` (built once by the caller, the cli's composition root): `<prefix>/v2/*` is
 * answered here; other paths fall through, so a caller may add routes (health, metrics) to the
 * returned app. The registry's write policy decides which writes are refused; the app maps its
 * errors to statuses.
 */
export function createApp(registry: Registry, options: AppOptions): express.Express {
  if (options.pullThrough && !registry.writePolicy.pullThrough) {
    throw new Error('createApp: a pull-through cache needs a Registry built with pullThrough: true (clients may not write to it)');
  }
  const resolved = resolveOptions(options);
  const logger = options.logger.child({ component: 'http' });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(responseHeaders(resolved));
  app.use(accessLog(logger, { disabled: options.accessLogDisabled, observer: options.observer }));
  const apiPath = (req: Request): string | undefined => {
    const path = belowPrefix(req.path, resolved.prefix);
    if (path === undefined) return undefined;
    return path === '/v2' || path.startsWith('/v2/') || (options.ui && path.startsWith('/ui/api/')) ? path : undefined;
  };
  const cors = corsHandling(resolved.headers, apiPath);
  if (cors) app.use(cors);
  app.use(routing(apiPath));
  if (options.auth) app.use(authorization(options.auth));
  app.use(dispatcher(resolved, registry));
  if (options.ui) app.use(uiPages(options.ui, resolved.prefix, options.auth));
  app.use(errorMiddleware(logger));
  return app;
}
