import type { Request, RequestHandler } from 'express';

/** Methods the API answers, for a preflight when `http.headers` does not name them. */
const DEFAULT_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

function configured(headers: Readonly<Record<string, readonly string[]>>, name: string): readonly string[] | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}

/**
 * CORS for browser UIs, from `http.headers` (distribution's way to configure it): when they set
 * `Access-Control-Allow-Origin`, this
 * - answers a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) on an API
 *   path with 204 before authentication, so it never gets a 401 (distribution#4458): the allowed
 *   origin, `Access-Control-Allow-Methods` (configured, else every method the API answers) and
 *   `Access-Control-Allow-Headers` (configured, else the headers the browser asks for), plus the
 *   other configured `Access-Control-*` headers, which every response carries already;
 * - with several origins configured, answers each request with the one matching its `Origin`
 *   (browsers accept exactly one) or none, and `Vary: Origin`.
 * Undefined when no origin is configured (preflights then get 405, as any unknown method).
 * `Access-Control-Expose-Headers: [Docker-Content-Digest, …]` in `http.headers` is what lets
 * scripts read those headers.
 */
export function corsHandling(headers: Readonly<Record<string, readonly string[]>> | undefined, apiPath: (req: Request) => string | undefined): RequestHandler | undefined {
  const origins = headers && configured(headers, 'Access-Control-Allow-Origin');
  if (!headers || !origins || origins.length === 0) return undefined;
  const methods = configured(headers, 'Access-Control-Allow-Methods');
  const allowHeaders = configured(headers, 'Access-Control-Allow-Headers');
  const allowedOrigin = (origin: string | undefined): string | undefined =>
    origin !== undefined && origins.includes(origin) ? origin : origins.includes('*') ? '*' : undefined;
  return (req, res, next) => {
    const origin = req.headers.origin;
    const allowed = allowedOrigin(origin);
    if (origins.length > 1) {
      res.vary('Origin');
      if (allowed) res.set('Access-Control-Allow-Origin', allowed);
      else res.removeHeader('Access-Control-Allow-Origin');
    }
    const preflight = req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    if (!preflight || apiPath(req) === undefined) return next();
    res.vary('Origin').vary('Access-Control-Request-Method').vary('Access-Control-Request-Headers');
    if (allowed) {
      res.set('Access-Control-Allow-Origin', allowed);
      if (!methods) res.set('Access-Control-Allow-Methods', DEFAULT_METHODS);
      const requested = req.headers['access-control-request-headers'];
      if (!allowHeaders && requested) res.set('Access-Control-Allow-Headers', requested);
    }
    res.status(204).set('Content-Length', '0').end();
  };
}
