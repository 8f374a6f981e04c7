import type { Request, RequestHandler } from 'express';
import type { Logger } from '@berth/logging';
import { ApiError } from '../errors';
import type { RoutedLocals, RoutedRequest } from '../request-route';
import { accessDetail, isReadOnlyAccess, requiredAccess, type RequiredAccess } from './access';
import type { Access, Authenticator, ChallengeError } from './types';

/** What the authorization middleware leaves in `res.locals` for later middleware and handlers. */
export interface AuthLocals {
  /** The authenticated user name; undefined for an anonymous request (or without auth). */
  user?: string;
  /** Set when a cross-repository mount was asked without `pull` on its source: serve a plain upload session. */
  mountRefused?: boolean;
  /** Whether the request's identity (or anonymous pull) allows `access`: what the web UI may offer. */
  allows?: (access: Access) => boolean;
}

const CHECKED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

function unauthorized(header: string, needed: readonly Access[]): ApiError {
  return new ApiError('UNAUTHORIZED', 'authentication required', needed.length > 0 ? accessDetail(needed) : undefined, { 'WWW-Authenticate': header });
}

/** The access the request needs, from the route it matched; `undefined` when no handler will run for it. */
function neededFor(req: Request, routed: RoutedRequest): RequiredAccess | undefined {
  if (!CHECKED_METHODS.has(req.method)) return undefined;
  const match = routed.match;
  // No route (or a path that does not decode): the dispatcher answers 404, but only to someone
  // with valid credentials (as for /v2/).
  if (!match) return { required: [] };
  const query = new URL(req.originalUrl, 'http://registry.invalid').searchParams;
  return requiredAccess(match.route.name, req.method, match.params, query);
}

/**
 * THE access check, before dispatch: works out from the route table what the request needs
 * (`requiredAccess`), has `auth` check the credentials, and either lets the request through
 * (`res.locals.user` set to the user name) or answers 401 `UNAUTHORIZED` with the scheme's
 * `WWW-Authenticate` challenge and the needed access as `detail`:
 * - bad credentials: a challenge with `error="invalid_token"` (Bearer schemes);
 * - valid credentials lacking an access: `error="insufficient_scope"`;
 * - no credentials: a plain challenge, unless the scheme allows anonymous pull and everything
 *   needed is a pull (or the catalog). `GET /v2/` always needs credentials, so that clients learn
 *   the scheme there.
 * It runs after the routing middleware and uses the route it matched (`res.locals.routed`);
 * requests outside the API (no `routed`), and methods no route answers, pass untouched.
 */
export function authorization(auth: Authenticator): RequestHandler {
  return async (req, res, next) => {
    const routed = (res.locals as RoutedLocals).routed;
    const needed = routed === undefined ? undefined : neededFor(req, routed);
    if (!needed) return next();
    const logger = res.locals.logger as Logger;
    const asked = needed.mountSource ? [...needed.required, needed.mountSource] : needed.required;
    const result = await auth.authenticate(req, logger);
    if (result.kind === 'rejected') {
      logger.info('authentication failed', { scheme: auth.scheme, reason: result.reason });
      throw unauthorized(auth.challenge(req, asked, 'invalid_token'), asked);
    }
    const identity = result.kind === 'authenticated' ? result.identity : undefined;
    const allowed = (access: Access): boolean => identity?.allows(access) === true || (auth.anonymousPull && isReadOnlyAccess(access));
    if ((!identity && needed.required.length === 0 && !needed.anonymous) || !needed.required.every(allowed)) {
      const error: ChallengeError | undefined = identity ? 'insufficient_scope' : undefined;
      if (identity) logger.info('access denied', { scheme: auth.scheme, user: identity.user, missing: needed.required.filter((a) => !allowed(a)) });
      throw unauthorized(auth.challenge(req, asked, error), asked);
    }
    const locals = res.locals as AuthLocals;
    locals.user = identity?.user;
    locals.allows = allowed;
    if (needed.mountSource && !allowed(needed.mountSource)) {
      locals.mountRefused = true;
      logger.debug('cross-repository mount without pull on the source: serving a plain upload session', { from: needed.mountSource.name });
    }
    next();
  };
}
